import { CommandError, ObjectLostError } from "../../errors.ts";
import type { ToolInfo } from "../../protocol/exec-wire.ts";
import type { ExecHooks, ExecResult, ExecSpec, ExecTimings } from "./exec.ts";
import type { Directory, FileRef } from "./file-ref.ts";
import { dependencies, validate, type Graph, type GraphAction } from "./graph.ts";
import { longestPaths } from "./priority.ts";
import { requireTools } from "./toolchains.ts";
import { sandboxPath } from "../../protocol/sandbox-paths.ts";

// Runs a command graph on a cluster: every action is sent as soon as the actions it reads
// from are done (no level barriers), the longest remaining path first, each to a runner with
// its tools and a free thread, preferably one holding its inputs. Outputs stay where they
// were made; a runner reading one fetches it from there. A failed action stops the actions
// that read from it, and only those. An output lost with its runner is made again by its
// action (lineage), as Strand remakes a lost f.ref() result.

/** What a graph needs of a cluster: its public face (Cluster has it). */
export interface GraphCluster {
  putFile(path: string): Promise<FileRef>;
  putDir(path: string): Promise<Directory>;
  putBytes(bytes: Uint8Array, options?: { executable?: boolean }): Promise<FileRef>;
  exec(spec: ExecSpec, hooks?: ExecHooks): Promise<ExecResult>;
  /** Which commands an action cache answers, asked in one batch (Cluster has it); without it, each action asks as it is sent. */
  probe?(specs: ExecSpec[]): Promise<(ExecResult | undefined)[]>;
  /** Readies the runners for commands ahead of the first (Cluster has it); only ever a head start. */
  warmExec?(): Promise<void>;
  readonly runners: readonly { address: string; alive: boolean; tools: ToolInfo[] }[];
}

/** What happened to an action, as it happens. */
export type ActionEvent =
  | { type: "sent"; id: string; runner: string; attempt: number }
  | { type: "done"; id: string; runner: string; cached: boolean; timings: ExecTimings }
  | { type: "failed"; id: string; error: Error }
  | { type: "skipped"; id: string; because: string }
  | { type: "remade"; id: string; because: string };

export interface GraphOptions {
  /**
   * DistGo's way, for comparison: actions in topological levels, each level started only once
   * the whole previous one is done.
   */
  barriers?: boolean;
  onAction?: (event: ActionEvent) => void;
}

export interface ActionOutcome {
  id: string;
  outputs: Record<string, FileRef>;
  runner: string;
  cached: boolean;
  timings: ExecTimings;
  stdout: string;
  stderr: string;
  bytesUploaded: number;
  bytesFetched: number;
}

export interface GraphResult {
  /** Every action succeeded. */
  ok: boolean;
  /** The actions that succeeded (ran, or came from a cache). */
  actions: Record<string, ActionOutcome>;
  /** The actions that failed, with why (CommandError for a command that exited non-zero). */
  failed: Record<string, Error>;
  /** Actions not run because an action they read from failed. */
  skipped: string[];
  /** The graph's results (Graph.results) whose actions succeeded. */
  results: Record<string, FileRef>;
  counts: { actions: number; ran: number; cached: number; failed: number; skipped: number; remade: number };
  /** Hashing the driver's files and checking the graph, and from the first send to the end, in ms. */
  planMs: number;
  wallMs: number;
}

/** Times an action's output may be remade after its runners were lost. */
const REMAKES = 3;

class Skipped extends Error {}

export async function runGraph(cluster: GraphCluster, graph: Graph, options: GraphOptions = {}): Promise<GraphResult> {
  const t0 = performance.now();
  // The runners get ready for commands while the driver checks and hashes (see Execs.warm).
  void cluster.warmExec?.().catch(() => {});
  const order = validate(graph);
  const byId = new Map(order.map((a) => [a.id, a]));
  // Tools first, for every action: a mismatch is refused before anything runs.
  const live = cluster.runners.filter((r) => r.alive).map((r) => ({ address: r.address, info: { tools: r.tools } }));
  if (live.length > 0) for (const a of order) requireTools(live, a.tools ?? [], a.id);

  // The driver's files, hashed once each (nothing is sent until a runner needs it).
  const files = new Map<string, Promise<FileRef>>();
  const dirs = new Map<string, Promise<Directory>>();
  const blobs = new Map<string, Promise<FileRef>>();
  for (const a of order) {
    for (const inp of Object.values(a.inputs)) {
      if ("file" in inp && !files.has(inp.file)) files.set(inp.file, cluster.putFile(inp.file));
      if ("dir" in inp && !dirs.has(inp.dir)) dirs.set(inp.dir, cluster.putDir(inp.dir));
      const key = "bytes" in inp ? `${inp.executable === true ? "x" : "-"}${inp.bytes}` : undefined;
      if (key !== undefined && !blobs.has(key)) blobs.set(key, cluster.putBytes(Buffer.from(key.slice(1), "base64"), { executable: key[0] === "x" }));
    }
  }
  const put = new Map<string, FileRef>();
  const putDirs = new Map<string, Directory>();
  const putBlobs = new Map<string, FileRef>();
  await Promise.all([
    ...[...files].map(async ([p, r]) => put.set(p, await r)),
    ...[...dirs].map(async ([p, r]) => putDirs.set(p, await r)),
    ...[...blobs].map(async ([k, r]) => putBlobs.set(k, await r)),
  ]);

  // Longest path to the end from each action, each weighing what it reads of the driver's
  // files (priority.ts): the most urgent first.
  const readers = new Map<string, string[]>();
  for (const a of order) for (const d of dependencies(a)) readers.set(d, [...(readers.get(d) ?? []), a.id]);
  const height = longestPaths(order, (a) => {
    let bytes = 0;
    for (const inp of Object.values(a.inputs)) {
      if ("file" in inp) bytes += put.get(inp.file)!.size;
      else if ("dir" in inp) for (const f of Object.values(putDirs.get(inp.dir)!.files)) bytes += f.size;
    }
    return bytes;
  });
  const planMs = performance.now() - t0;

  const emit = (e: ActionEvent): void => {
    try {
      options.onAction?.(e);
    } catch {
      // a listener's mistake is not the build's
    }
  };
  const outcomes: Record<string, ActionOutcome> = {};
  const failed: Record<string, Error> = {};
  const skipped = new Set<string>();
  const remakes = new Map<string, number>();
  let remade = 0;
  /** Each action's run, started once its inputs are done; replaced when it is remade. */
  const runs = new Map<string, Promise<ActionOutcome>>();
  /** Which action made each output file (by hash): whom to ask again when it is lost. */
  const madeBy = new Map<string, string>();

  const specOf = (a: GraphAction, done: Map<string, { outputs: Record<string, FileRef> }>): ExecSpec => {
    const inputs: ExecSpec["inputs"] = {};
    for (const [p, inp] of Object.entries(a.inputs)) {
      if ("file" in inp) inputs[p] = put.get(inp.file)!;
      else if ("dir" in inp) inputs[p] = putDirs.get(inp.dir)!;
      else if ("action" in inp) inputs[p] = outputOf(done.get(inp.action)!, inp.output);
      else inputs[p] = putBlobs.get(`${inp.executable === true ? "x" : "-"}${inp.bytes}`)!;
    }
    return {
      argv: a.argv, inputs, outputs: a.outputs,
      ...(a.env !== undefined ? { env: a.env } : {}), ...(a.cwd !== undefined ? { cwd: a.cwd } : {}),
      ...(a.tools !== undefined ? { tools: a.tools } : {}), ...(a.timeout !== undefined ? { timeout: a.timeout } : {}),
      ...(a.buildId !== undefined ? { buildId: a.buildId } : {}),
      ...(a.expand === true ? { expand: true } : {}), ...(a.stdoutToStderr === true ? { stdoutToStderr: true } : {}),
    };
  };

  const attempt = async (a: GraphAction, fresh: boolean): Promise<ActionOutcome> => {
    for (let tries = 0; ; tries++) {
      const done = new Map<string, ActionOutcome>();
      const used = new Map<string, Promise<ActionOutcome>>();
      for (const d of dependencies(a)) {
        used.set(d, runs.get(d)!);
        done.set(d, await runs.get(d)!);
      }
      // Answered by the probe: no exec at all (a remake, fresh, must run it again).
      const probed = fresh ? undefined : hits.get(a.id);
      if (probed !== undefined) {
        const o: ActionOutcome = { id: a.id, outputs: probed.outputs, runner: probed.runner, cached: true, timings: probed.timings, stdout: probed.stdout, stderr: probed.stderr, bytesUploaded: 0, bytesFetched: 0 };
        for (const f of Object.values(o.outputs)) madeBy.set(f.hash, a.id);
        emit({ type: "done", id: a.id, runner: o.runner, cached: true, timings: o.timings });
        return o;
      }
      const spec = specOf(a, done);
      let sends = 0;
      try {
        const r = await cluster.exec(spec, {
          label: a.id, priority: height.get(a.id)!, fresh,
          onSent: (runner) => emit({ type: "sent", id: a.id, runner, attempt: ++sends }),
        });
        for (const f of Object.values(r.outputs)) madeBy.set(f.hash, a.id);
        const o: ActionOutcome = { id: a.id, outputs: r.outputs, runner: r.runner, cached: r.cached, timings: r.timings, stdout: r.stdout, stderr: r.stderr, bytesUploaded: r.bytesUploaded, bytesFetched: r.bytesFetched };
        emit({ type: "done", id: a.id, runner: r.runner, cached: r.cached, timings: r.timings });
        return o;
      } catch (err) {
        // An input made by another action is gone with its runners: that action makes it again, then this one runs.
        const producer = err instanceof ObjectLostError ? madeBy.get(err.objectId.slice(5).replace(/\.x$/, "")) : undefined;
        if (producer === undefined || tries >= REMAKES) throw err;
        // Another reader of the same output may have had it remade already: then only wait for that.
        if (runs.get(producer) === used.get(producer)) {
          if ((remakes.get(producer) ?? 0) >= REMAKES) throw err;
          remakes.set(producer, (remakes.get(producer) ?? 0) + 1);
          remade++;
          emit({ type: "remade", id: producer, because: `its output was lost (${a.id} reads it)` });
          remake(producer);
        }
      }
    }
  };

  /** Runs `id` again (fresh: not from the driver's memory of results, whose outputs are gone). */
  const remake = (id: string): void => {
    const p = attempt(byId.get(id)!, true);
    p.catch(() => {});
    runs.set(id, p);
  };

  const settle = (a: GraphAction, p: Promise<ActionOutcome>): Promise<void> =>
    p.then(
      (o) => {
        outcomes[a.id] = o;
      },
      (err: unknown) => {
        if (err instanceof Skipped) {
          skipped.add(a.id);
          emit({ type: "skipped", id: a.id, because: err.message });
          return;
        }
        const e = err instanceof Error ? err : new Error(String(err));
        if (e instanceof CommandError && e.action === undefined) e.action = a.id;
        failed[a.id] = e;
        emit({ type: "failed", id: a.id, error: e });
      },
    );

  const start = (a: GraphAction): Promise<ActionOutcome> => {
    const deps = dependencies(a);
    const p = (async () => {
      const settled = await Promise.allSettled(deps.map((d) => runs.get(d)!));
      const bad = settled.findIndex((s) => s.status === "rejected");
      if (bad !== -1) throw new Skipped(`${deps[bad]} ${failed[deps[bad]!] === undefined ? "was skipped" : "failed"}`);
      return attempt(a, false);
    })();
    p.catch(() => {});
    runs.set(a.id, p);
    return p;
  };

  const w0 = performance.now();
  // Before anything is sent, the action caches are asked about every action whose inputs are
  // known, level by level (a hit's outputs make its readers' keys known): one call per runner
  // per level. Hits are then answered from the driver's memory as they come up, so a fully
  // cached build by a new driver makes ~levels round trips, not one exec call per action
  // (222 for the net/http program), and sends no input at all.
  const hits = cluster.probe === undefined ? new Map<string, ExecResult>() : await probeCaches(cluster.probe.bind(cluster), order, readers, specOf);
  if (options.barriers === true) {
    const level = new Map<string, number>();
    for (const a of order) level.set(a.id, 1 + Math.max(0, ...dependencies(a).map((d) => level.get(d)!)));
    const levels = Math.max(0, ...level.values());
    for (let l = 1; l <= levels; l++) {
      const these = order.filter((a) => level.get(a.id) === l);
      await Promise.all(these.map((a) => settle(a, start(a))));
    }
  } else {
    // In topological order, so every action's inputs have their runs before it looks.
    await Promise.all(order.map((a) => settle(a, start(a))));
  }
  // Settle a remade action's final outcome too (a reader may have made it run again).
  for (const [id, p] of runs) {
    const o = await p.catch(() => undefined);
    if (o !== undefined && outcomes[id] !== undefined) outcomes[id] = o;
  }
  const wallMs = performance.now() - w0;

  const results: Record<string, FileRef> = {};
  for (const [p, r] of Object.entries(graph.results ?? {})) {
    const o = outcomes[r.action];
    const f = o === undefined ? undefined : outputOf(o, r.output);
    if (f !== undefined) results[p] = f;
  }
  const all = Object.values(outcomes);
  return {
    ok: Object.keys(failed).length === 0 && skipped.size === 0,
    actions: outcomes, failed, skipped: [...skipped], results,
    counts: { actions: order.length, ran: all.filter((o) => !o.cached).length, cached: all.filter((o) => o.cached).length, failed: Object.keys(failed).length, skipped: skipped.size, remade },
    planMs, wallMs,
  };
}

/** Asks the action caches, level by level, which actions are hits (see runGraph); a failed probe only means asking later. */
async function probeCaches(
  probe: NonNullable<GraphCluster["probe"]>, order: GraphAction[], readers: Map<string, string[]>,
  specOf: (a: GraphAction, done: Map<string, { outputs: Record<string, FileRef> }>) => ExecSpec,
): Promise<Map<string, ExecResult>> {
  const byId = new Map(order.map((a) => [a.id, a]));
  const hits = new Map<string, ExecResult>();
  const asked = new Set<string>();
  let frontier = order.filter((a) => dependencies(a).length === 0);
  while (frontier.length > 0) {
    for (const a of frontier) asked.add(a.id);
    let answers: (ExecResult | undefined)[];
    try {
      answers = await probe(frontier.map((a) => specOf(a, hits)));
    } catch {
      return hits;
    }
    const next = new Map<string, GraphAction>();
    frontier.forEach((a, i) => {
      const hit = answers[i];
      if (hit === undefined) return;
      hits.set(a.id, hit);
      for (const r of readers.get(a.id) ?? []) {
        const reader = byId.get(r)!;
        if (!asked.has(r) && dependencies(reader).every((d) => hits.has(d))) next.set(r, reader);
      }
    });
    frontier = [...next.values()];
  }
  return hits;
}

/** An action's output by the path the graph names it (`./a.o` and `a.o` alike: outputs are normalized). */
function outputOf(o: { outputs: Record<string, FileRef> }, output: string): FileRef {
  return o.outputs[sandboxPath(output)]!;
}
