import { execFileSync } from "node:child_process";
import { closeSync, existsSync } from "node:fs";
import path from "node:path";
import { threadId } from "node:worker_threads";
import { CommandError, ObjectLostError, SandboxSetupError } from "../../errors.ts";
import { fileObjectId, GO_TOOLDIR_MARK, SANDBOX_MARK, type ExecAnswer, type ExecInput, type ExecOutput, type ExecTask } from "../../protocol/exec-wire.ts";
import { ActionCache, type ActionEntry } from "./action-cache.ts";
import { stampBuildIdIn, writeStamp } from "../../protocol/build-id-stamp.ts";
import { readWhole } from "./whole-file.ts";
import { tierUpForCommands } from "./tier-up.ts";
import { fetchFiles } from "./file-fetches.ts";
import { FileCache } from "./file-cache.ts";
import { runCommand } from "./run-command.ts";
import { helperPerl, SpawnHelpers } from "./spawn-helper.ts";
import { checkLayout, sandboxPath } from "../../protocol/sandbox-paths.ts";
import { type Sandbox, Sandboxes } from "./sandbox.ts";

// How the built-in exec call reaches this runner's file cache and sandboxes. The driver ships
// a generated entry module like any user module (driver/builds/exec-entry.ts); its one export
// hands the task to what the worker thread set under this global symbol, as Wasm ranks do
// (runner/wasm/runtime-hook.ts). The command runs in a child process: the thread only waits.

/** The global symbol: `globalThis[Symbol.for("strand.exec")]`. */
export const EXEC_HOOK = "strand.exec";

export interface ExecRuntime {
  run(task: ExecTask): Promise<ExecAnswer>;
  /** Each key's entry in the action cache (outputs all still in the file cache), or null. */
  lookup(keys: string[]): Promise<(ActionEntry | null)[]>;
}

/** The runner's exec directory: file cache, action cache and sandboxes, under its cache directory. */
export const execDir = (cacheDir: string): string => path.join(cacheDir, "exec");

const since = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;

interface ExecState {
  files: FileCache;
  actions: ActionCache;
  sandboxes: Sandboxes;
  /** Where perl is found: the thread's spawn helpers (else the runner spawns commands itself). */
  helpers: SpawnHelpers | undefined;
  /** This thread's commands, one at a time for those queued ahead. */
  gate: CommandGate;
}

/**
 * The commands running on this thread, and those queued ahead (ExecTask.ahead) waiting, first
 * come first, for none to run. Only a command queued ahead waits: the driver places the others
 * one per thread (driver/builds/slots.ts), and an older driver sends none ahead.
 */
export class CommandGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** Resolves when a command queued ahead may start (`ahead`), or at once; then the command counts as running. */
  enter(ahead: boolean): Promise<void> | undefined {
    if (!ahead || (this.running === 0 && this.waiting.length === 0)) {
      this.running++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A command exited (or never started): the next one queued ahead starts once none runs. */
  leave(): void {
    this.running--;
    if (this.running === 0) {
      const next = this.waiting.shift();
      if (next !== undefined) {
        this.running++;
        next();
      }
    }
  }
}

async function run(task: ExecTask, { files, actions, sandboxes, helpers, gate }: ExecState, threadsChannel: string | undefined): Promise<ExecAnswer> {
  const label = task.label ?? task.argv[0] ?? "exec";
  if (!Array.isArray(task.argv) || task.argv.length === 0 || !task.argv.every((a) => typeof a === "string")) throw new TypeError(`${label}: argv must be a non-empty list of strings`);
  // Every path is checked before anything is read or made.
  const inputs = task.inputs.map((i) => ({ path: sandboxPath(i.path), hash: i.hash, executable: i.executable, holders: i.holders }));
  const outputs = task.outputs.map((o) => sandboxPath(o));
  const cwd = sandboxPath(task.cwd === "" ? "." : task.cwd, true);
  checkLayout(inputs.map((i) => i.path), outputs);
  const stamp = task.buildId === undefined ? undefined : { path: sandboxPath(task.buildId.path), id: task.buildId.id };
  if (stamp !== undefined && (!outputs.includes(stamp.path) || typeof stamp.id !== "string" || stamp.id === "")) throw new TypeError(`${label}: the build ID stamp must name one of the outputs and an ID`);

  const hit = actions.lookup(task.key);
  if (hit !== undefined) {
    return { outputs: hit.outputs, stdout: hit.stdout, stderr: hit.stderr, cached: true, phases: { fetchMs: 0, setupMs: 0, waitMs: 0, runMs: 0, storeMs: 0 }, bytesFetched: 0 };
  }

  for (const i of task.inputs) {
    if (i.bytes !== undefined && !(i.bytes instanceof Uint8Array)) throw new TypeError(`${label}: the bytes of input ${i.path} are not bytes`);
  }

  // The sandbox first, then each input linked from the cache, or written there if it came with
  // the action (small files only the driver has): an input found in neither is fetched from a
  // runner holding it, or, if only the driver has it, named in `missing` (the driver sends it
  // and asks again). No stat per input ahead of its link: the link is the test.
  let t0 = performance.now();
  const box = takeBox(label, inputs, outputs, cwd, sandboxes);
  try {
    const absent = setUp(label, inputs, task.inputs, box, files, sandboxes);
    let setupMs = since(t0);
    let fetchMs = 0;
    let bytesFetched = 0;
    if (absent.length > 0) {
      const missing = absent.filter((i) => i.holders.length === 0).map((i) => fileObjectId(i.hash, i.executable));
      if (missing.length > 0) {
        return { outputs: [], stdout: "", stderr: "", cached: false, phases: { fetchMs: 0, setupMs: 0, waitMs: 0, runMs: 0, storeMs: 0 }, bytesFetched: 0, missing: [...new Set(missing)] };
      }
      t0 = performance.now();
      bytesFetched = await fetchFiles(threadsChannel, files, absent.map((i) => [i.hash, i.executable, i.holders]));
      fetchMs = since(t0);
      t0 = performance.now();
      if (setUp(label, absent, [], box, files, sandboxes).length > 0) throw new SandboxSetupError(label, absent[0]!.path, "the input was fetched, yet is not in the runner's file cache");
      setupMs += since(t0);
    }
    const dir = cwd === "." ? box.root : box.file(cwd);
    const env = { PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", ...task.env };
    const argv = task.expand === true ? expandArgv(task.argv, box.root) : task.argv;
    const merge = task.stdoutToStderr === true;

    // Queued ahead: everything above happened while the thread's previous command ran.
    t0 = performance.now();
    const turn = gate.enter(task.ahead === true);
    if (turn !== undefined) await turn;
    const waitMs = since(t0);

    t0 = performance.now();
    const startedAt = performance.timeOrigin + t0;
    let done;
    try {
      done = helpers !== undefined ? await helpers.run(argv, dir, env, task.timeout, label, merge) : await runCommand(argv, dir, env, task.timeout, label, merge);
    } finally {
      // The outputs are taken in below while the next command (queued ahead) already runs.
      gate.leave();
    }
    const runMs = since(t0);
    const endedAt = performance.timeOrigin + performance.now();
    if (done.exitCode !== 0) throw new CommandError(task.argv, done.exitCode, done.stderr, task.label);

    t0 = performance.now();
    const made: ExecOutput[] = [];
    const absentOutput = (o: string): CommandError => new CommandError(task.argv, 0, `${done.stderr}${label}: the command did not make its declared output ${o}\n`, task.label);
    for (const o of outputs) {
      const out = box.output(o);
      if (out === undefined) throw absentOutput(o);
      made.push({ path: o, ...(o === stamp?.path ? adoptStamped(files, out.full, out.executable, stamp.id) : files.adopt(out.full, out.executable)), executable: out.executable });
    }
    actions.store(task.key, { outputs: made, stdout: done.stdout, stderr: done.stderr });
    return { outputs: made, stdout: done.stdout, stderr: done.stderr, cached: false, phases: { fetchMs, setupMs, waitMs, runMs, storeMs: since(t0), startedAt, endedAt }, bytesFetched };
  } finally {
    // Emptied for the next action (unless a failed setup discarded it).
    sandboxes.give(box);
  }
}

/**
 * Stamps Go's build ID in an output (as `go tool buildid -w`) and takes it into the file cache,
 * reading it once: the bytes read to stamp it are the stamped file's, hashed as they are.
 */
function adoptStamped(files: FileCache, full: string, executable: boolean, id: string): { hash: string; size: number } {
  const { bytes, fd } = readWhole(full, true);
  try {
    const { id: next, at } = stampBuildIdIn(bytes, id);
    writeStamp(fd, next, at);
  } finally {
    closeSync(fd);
  }
  return files.adopt(full, executable, bytes);
}

let goToolDir: string | undefined;

/**
 * An action's argv with `${sandbox}` and `${tooldir:go}` replaced (ExecTask.expand): what a
 * shell script used to work out per action, a process (dash, ~0.4 ms of CPU) per Go action.
 */
function expandArgv(argv: string[], root: string): string[] {
  return argv.map((a) => {
    let out = a.split(SANDBOX_MARK).join(root);
    if (out.includes(GO_TOOLDIR_MARK)) {
      // Asked once per thread: the runner's own Go, whose version the action's tools required.
      goToolDir ??= execFileSync("go", ["env", "GOTOOLDIR"], { encoding: "utf8", timeout: 30_000 }).trim();
      out = out.split(GO_TOOLDIR_MARK).join(goToolDir);
    }
    return out;
  });
}

interface InputFile { path: string; hash: string; executable: boolean; holders: string[] }

/** The action's sandbox, shaped for its inputs, outputs and cwd, empty of files; any failure a SandboxSetupError. */
function takeBox(label: string, inputs: InputFile[], outputs: string[], cwd: string, sandboxes: Sandboxes): Sandbox {
  let box: Sandbox;
  try {
    box = sandboxes.take([...inputs.map((i) => i.path), ...outputs], cwd);
  } catch (err) {
    throw new SandboxSetupError(label, ".", `shaping its folders in ${sandboxes.area} failed: ${(err as Error).message}`);
  }
  // With no input to link, nothing else shows the sandbox is really there before the command starts in it.
  if (inputs.length === 0 && !existsSync(box.root)) {
    sandboxes.discard(box);
    throw new SandboxSetupError(label, ".", `the sandbox ${box.root} is missing`);
  }
  return box;
}

/**
 * Links (or, for those that came with the action, writes) `inputs` into the sandbox; returns
 * those the file cache lacks. Any other failure is a SandboxSetupError naming the action, the
 * path and the missing piece (a folder of the sandbox, or the cache's file), never a bare
 * ENOENT; the sandbox is then discarded, not reused, so a failed setup fails this action only
 * (the driver runs it again) and leaves no box half-shaped. `sent[k]` is inputs[k] as it came.
 */
function setUp(label: string, inputs: InputFile[], sent: ExecInput[], box: Sandbox, files: FileCache, sandboxes: Sandboxes): InputFile[] {
  const absent: InputFile[] = [];
  for (let k = 0; k < inputs.length; k++) {
    const i = inputs[k]!;
    const bytes = sent[k]?.bytes;
    const dest = box.file(i.path);
    try {
      if (bytes !== undefined) files.writeInto(i.hash, i.executable, bytes, dest);
      else files.linkTo(i.hash, i.executable, dest);
    } catch (err) {
      if (err instanceof ObjectLostError) {
        sandboxes.discard(box);
        throw err;
      }
      if (bytes === undefined && (err as NodeJS.ErrnoException).code === "ENOENT" && !files.has(i.hash, i.executable) && existsSync(path.dirname(dest))) {
        absent.push(i);
        continue;
      }
      const reason = bytes === undefined ? files.explainLinkFailure(i.hash, i.executable, dest, box.root, err) : explainWriteFailure(dest, box.root, err);
      sandboxes.discard(box);
      throw new SandboxSetupError(label, i.path, reason);
    }
  }
  return absent;
}

/** Why writing an input that came with the action to `dest` failed: its folder missing from the sandbox, or the error. */
function explainWriteFailure(dest: string, root: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT" && !existsSync(path.dirname(dest))) return `its folder ${path.relative(root, path.dirname(dest)) || "."} is missing from the sandbox ${root}`;
  return `writing it failed: ${e.message}`;
}

/** On a worker thread: `cacheDir` is the runner's cache directory, `threadsChannel` its channel of threads. */
export function provideExecRuntime(cacheDir: string, threadsChannel: string | undefined): void {
  let state: ExecState | undefined;
  const open = (): ExecState => {
    if (state === undefined) {
      tierUpForCommands();
      const dir = execDir(cacheDir);
      const files = new FileCache(dir);
      const perl = process.env["STRAND_SPAWN_HELPER"] === "off" ? null : helperPerl();
      state = { files, actions: new ActionCache(dir, files), sandboxes: new Sandboxes(path.join(dir, "sandboxes"), threadId), helpers: perl === null ? undefined : new SpawnHelpers(perl), gate: new CommandGate() };
    }
    return state;
  };
  const runtime: ExecRuntime = {
    run: (task) => {
      return run(task, open(), threadsChannel);
    },
    lookup: async (keys) => {
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw new TypeError("lookup: keys must be a list of strings");
      const { actions } = open();
      return Promise.resolve(actions.lookupMany(keys));
    },
  };
  (globalThis as { [k: symbol]: unknown })[Symbol.for(EXEC_HOOK)] = runtime;
}


