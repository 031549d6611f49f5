import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, cpSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stampBuildId } from "../../../protocol/build-id-stamp.ts";
import { GO_TOOLDIR_MARK, SANDBOX_MARK } from "../../../protocol/exec-wire.ts";
import type { Graph, GraphAction } from "../graph.ts";

// Runs a command graph on this machine, each action in a fresh sandbox folder holding only
// its inputs, as soon as its inputs are ready, longest path first. It checks a plan without a
// cluster: whatever an action reads that is not among its inputs is missing here too.

export interface LocalRunOptions {
  /** Actions at once (default 2). */
  concurrency?: number;
  /** Where outputs are kept (default: a new temporary folder; the caller removes it). */
  store?: string;
}

export interface LocalRunResult {
  store: string;
  /** action id -> sandbox-relative output -> where it is on disk. */
  outputs: Map<string, Map<string, string>>;
}

/** An action that exited non-zero; stderr holds the tail of what it printed. */
export class LocalActionError extends Error {
  constructor(readonly action: string, readonly exitCode: number | null, readonly stderr: string) {
    super(`${action} failed (exit ${exitCode}): ${stderr.slice(-2000)}`);
  }
}

export async function runGraphLocally(graph: Graph, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const store = options.store ?? mkdtempSync(join(tmpdir(), "strand-graph-"));
  const concurrency = options.concurrency ?? 2;
  const byId = new Map(graph.actions.map((a) => [a.id, a]));
  const deps = new Map(graph.actions.map((a) => [a.id, new Set(Object.values(a.inputs).flatMap((i) => ("action" in i ? [i.action] : [])))]));
  const dependents = new Map<string, string[]>(graph.actions.map((a) => [a.id, []]));
  for (const [id, ds] of deps) for (const d of ds) {
    if (!byId.has(d)) throw new Error(`${id} needs an output of ${d}, which is not in the graph`);
    dependents.get(d)!.push(id);
  }
  const height = longestPaths(graph, dependents);
  const outputs = new Map<string, Map<string, string>>();
  const waiting = new Map([...deps].map(([id, ds]) => [id, ds.size]));
  const ready = graph.actions.filter((a) => deps.get(a.id)!.size === 0).map((a) => a.id);
  let running = 0;
  let failed: Error | undefined;

  await new Promise<void>((resolveAll, rejectAll) => {
    const pump = (): void => {
      if (failed !== undefined) {
        if (running === 0) rejectAll(failed);
        return;
      }
      if (outputs.size === graph.actions.length) return resolveAll();
      ready.sort((a, b) => height.get(b)! - height.get(a)!);
      while (running < concurrency && ready.length > 0) {
        const id = ready.shift()!;
        running++;
        runAction(byId.get(id)!, outputs, store).then((outs) => {
          outputs.set(id, outs);
          for (const d of dependents.get(id)!) {
            const left = waiting.get(d)! - 1;
            waiting.set(d, left);
            if (left === 0) ready.push(d);
          }
        }, (e: Error) => { failed ??= e; }).finally(() => {
          running--;
          pump();
        });
      }
    };
    pump();
  });
  return { store, outputs };
}

/** Per action, the longest chain of actions from it to the end of the graph. */
function longestPaths(graph: Graph, dependents: Map<string, string[]>): Map<string, number> {
  const memo = new Map<string, number>();
  const height = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const h = 1 + Math.max(0, ...dependents.get(id)!.map(height));
    memo.set(id, h);
    return h;
  };
  for (const a of graph.actions) height(a.id);
  return memo;
}

async function runAction(action: GraphAction, done: Map<string, Map<string, string>>, store: string): Promise<Map<string, string>> {
  const sandbox = mkdtempSync(join(tmpdir(), "strand-sandbox-"));
  try {
    for (const [at, input] of Object.entries(action.inputs)) {
      const dest = join(sandbox, at);
      mkdirSync(dirname(dest), { recursive: true });
      if ("bytes" in input) writeFileSync(dest, Buffer.from(input.bytes, "base64"));
      else if ("dir" in input) cpSync(input.dir, dest, { recursive: true });
      else place("file" in input ? input.file : done.get(input.action)!.get(input.output)!, dest);
    }
    // Every sandbox has its paths' folders, outputs' included (as a runner's: runner/exec/sandbox.ts).
    for (const out of action.outputs) mkdirSync(dirname(join(sandbox, out)), { recursive: true });
    const { code, stderr } = await spawnIn(action, sandbox);
    if (code !== 0) throw new LocalActionError(action.id, code, stderr);
    if (action.buildId !== undefined) stampBuildId(join(sandbox, action.buildId.path), action.buildId.id);
    const outs = new Map<string, string>();
    const keep = mkdtempSync(join(store, "a-"));
    for (const out of action.outputs) {
      const dest = join(keep, out);
      mkdirSync(dirname(dest), { recursive: true });
      renameSync(join(sandbox, out), dest);
      outs.set(out, dest);
    }
    return outs;
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

let goToolDir: string | undefined;

/** argv with the sandbox's path and Go's tool folder put in, as a runner does (ExecSpec.expand). */
function expanded(argv: string[], sandbox: string): string[] {
  goToolDir ??= execFileSync("go", ["env", "GOTOOLDIR"], { encoding: "utf8" }).trim();
  return argv.map((a) => a.split(SANDBOX_MARK).join(sandbox).split(GO_TOOLDIR_MARK).join(goToolDir!));
}

/** A hard link when the file system allows, else a copy. */
function place(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

function spawnIn(action: GraphAction, sandbox: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, rejectRun) => {
    const [cmd, ...args] = action.expand === true ? expanded(action.argv, sandbox) : action.argv;
    const child = spawn(cmd!, args, { cwd: join(sandbox, action.cwd ?? ""), env: { ...process.env, ...action.env }, stdio: ["ignore", action.stdoutToStderr === true ? "pipe" : "ignore", "pipe"] });
    let stderr = "";
    const add = (d: string): void => { stderr = (stderr + d).slice(-64_000); };
    child.stderr?.setEncoding("utf8").on("data", add);
    child.stdout?.setEncoding("utf8").on("data", add);
    child.on("error", rejectRun);
    child.on("close", (code) => resolveRun({ code, stderr }));
  });
}
