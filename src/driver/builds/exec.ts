import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, realpath, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { ClusterClosedError, ObjectLostError, RunnerLostError, SandboxError, SandboxSetupError } from "../../errors.ts";
import { encodeValue, type Encoded } from "../../protocol/codec.ts";
import { fileObjectId, type ActionHit, type ExecAnswer, type ExecInput, type ExecOutput, type ExecTask, type BuildIdStamp } from "../../protocol/exec-wire.ts";
import { checkLayout, sandboxPath } from "../../protocol/sandbox-paths.ts";
import { Ref } from "../objects/ref.ts";
import { isDirectory, isFileRef, type Directory, type FileRef } from "./file-ref.ts";
import { defaultFileHashesPath, FileHashes } from "./file-hashes.ts";
import { FileTable, sha256 } from "./file-table.ts";
import { Slots } from "./slots.ts";
import { checkRequirements, fits, requireTools, toolIdentity, type ToolRunner } from "./toolchains.ts";

// `cluster.exec`: one command on a runner, its inputs as files in a fresh sandbox there, its
// outputs left in that runner's file cache and returned as FileRefs. The driver decides
// where (a runner with the tools and a free thread, holding most of the inputs), sends only
// the files that runner lacks and no other runner holds, and remembers every result by its
// action key (the memory half of the action cache; the runners keep the disk half).

/** A runner as commands see it: the runner link provides it. */
export interface ExecRunner extends ToolRunner {
  readonly alive: boolean;
  readonly usable: boolean;
  readonly threads: number;
  /** Stores a value there under `objectId` (a file id: into its file cache). */
  put(objectId: string, value: Encoded): Promise<number>;
  /** The decoded value of an object held there (a file id: the file's bytes). */
  fetch(objectId: string): Promise<unknown>;
}

/** What commands need of their cluster. */
export interface ExecHost {
  runners(): readonly ExecRunner[];
  /** Resolves once a runner is usable; rejects as a call waiting for one would fail. */
  whenLive(): Promise<void>;
  /** Runs the built-in exec call on `runner`: a call like any other (observers see it). */
  call(runner: ExecRunner, task: ExecTask): Promise<ExecAnswer>;
  /** Looks action keys up in `runner`'s action cache, all in one call: each key's entry, or null. */
  lookup(runner: ExecRunner, keys: string[]): Promise<(ActionHit | null)[]>;
  /** The value of a Ref of the cluster. */
  get(ref: Ref<unknown>): Promise<unknown>;
  closed(): boolean;
}

/** One command: `cluster.exec(spec)`. */
export interface ExecSpec {
  argv: string[];
  /** The command's whole environment, with PATH from the runner unless given here. */
  env?: Record<string, string>;
  /** Where it runs, relative to the sandbox root (default: the root). */
  cwd?: string;
  /** Files it reads, by sandbox-relative path: a FileRef, a Ref of bytes, or a Directory (its files under that path). */
  inputs: Record<string, FileRef | Ref<Uint8Array> | Directory>;
  /** Files it makes (sandbox-relative): each must exist, as a regular file, when it exits 0. */
  outputs: string[];
  /** Tools it needs, e.g. `["go"]`, `["go@go1.19.8"]`, `["gcc"]`: only runners offering them run it. */
  tools?: string[];
  /** Milliseconds before the command is killed (TimeoutError). */
  timeout?: number;
  /** Run it on this runner (host:port), and nowhere else. */
  runner?: string;
  /**
   * Go's build ID to stamp into one of its outputs once it exits 0, as `go tool buildid -w`
   * would (the ID's last part becomes the file's content hash), done by the runner itself: a
   * process fewer per Go action.
   */
  buildId?: BuildIdStamp;
  /**
   * Replace, on the runner, `${sandbox}` in argv by the sandbox's absolute path and
   * `${tooldir:go}` by the directory of the runner's Go tools (`go env GOTOOLDIR`): for tools
   * that want absolute paths (Go's -trimpath), run without a shell to expand them.
   */
  expand?: boolean;
  /** Send the command's stdout where its stderr goes (a compiler printing its errors on stdout: they reach CommandError.stderr). */
  stdoutToStderr?: boolean;
}

/** Milliseconds, by phase. */
export interface ExecTimings {
  /** Waiting in the driver for a thread on a runner that fits. */
  queueMs: number;
  /** Sending the driver's own files to the runner. */
  uploadMs: number;
  /** The runner fetching inputs from other runners. */
  fetchMs: number;
  /** Making the sandbox. */
  setupMs: number;
  /** Queued ahead on the runner: from its sandbox ready to the thread's previous command done (see slots.ts). */
  waitMs: number;
  /** The command. */
  runMs: number;
  /** Taking the outputs into the file cache. */
  storeMs: number;
  /** From exec() to its result. */
  totalMs: number;
  /** Sent while every thread of its runner was taken (queued ahead there). */
  ahead: boolean;
  /** When the command started and exited, ms since the epoch on its runner's clock (0: nothing ran). */
  startedAt: number;
  endedAt: number;
}

export interface ExecResult {
  /** Each declared output, kept on the runner that made it until something reads it. */
  outputs: Record<string, FileRef>;
  stdout: string;
  stderr: string;
  exitCode: 0;
  /** The runner that ran it (or holds its cached outputs). */
  runner: string;
  /** Nothing ran: the action cache had it (this driver's, or the runner's on disk). */
  cached: boolean;
  timings: ExecTimings;
  /** Bytes of inputs the driver sent, and the runner fetched from other runners. */
  bytesUploaded: number;
  bytesFetched: number;
}

/** How a command graph runs a command: its name, urgency, and when it goes. */
export interface ExecHooks {
  /** The action's name (errors say it). */
  label?: string;
  /** Higher first among commands waiting for a thread (a graph gives its longest remaining path). */
  priority?: number;
  /** Told when the command is sent to a runner (after its uploads). */
  onSent?: (runner: string) => void;
  /** Skip the driver's memory of results (a graph remaking a lost output). */
  fresh?: boolean;
}

/**
 * Files only the driver has go with the action itself when this small (each, and all of one
 * action's together); bigger ones the runner asks for (`missing`) and the driver puts. Every
 * Go action reads a small importcfg only the driver has, so without this each action was two
 * exec calls and a put: measured (net/http, 222 actions) ... (see docs/decisions.md).
 */
const INLINE_MAX = 64 * 1024;
const INLINE_TOTAL = 1024 * 1024;

/** Sends of a command after its runner was lost (as a call's `retries`). */
const RETRIES = 3;

interface Remembered {
  outputs: ExecOutput[];
  stdout: string;
  stderr: string;
}

interface Prepared {
  inputs: [string, FileRef][];
  outputs: string[];
  cwd: string;
  required: string[];
  candidates: () => ExecRunner[];
  key: string;
}

const zeroTimings = (totalMs: number): ExecTimings => ({ queueMs: 0, uploadMs: 0, fetchMs: 0, setupMs: 0, waitMs: 0, runMs: 0, storeMs: 0, totalMs, ahead: false, startedAt: 0, endedAt: 0 });

/** A cluster's commands: the file table, the driver's half of the action cache, the threads. */
export class Execs {
  readonly files = new FileTable();
  private readonly remembered = new Map<string, Remembered>();
  readonly slots: Slots<ExecRunner>;
  /** Commands run, and answered from a cache (driver or runner): for stats. */
  ran = 0;
  cachedHits = 0;

  /** `hashes`: what the driver's files hashed to, by stat (file-hashes.ts); by default kept in the user's cache folder. */
  constructor(private readonly host: ExecHost, private readonly hashes = new FileHashes(defaultFileHashesPath())) {
    this.slots = new Slots(() => host.runners());
  }

  private live = (address: string): boolean => this.host.runners().some((r) => r.address === address && r.alive);

  async putFile(file: string): Promise<FileRef> {
    const abs = path.resolve(file);
    // At once, not through fs/promises (a trip through libuv's pool and a turn of the loop
    // each): a build puts every source it reads (817 for the net/http program) before its
    // first command, and the stat is all most of them need (file-hashes.ts knows the rest).
    const st = statSync(abs);
    const executable = (st.mode & 0o111) !== 0;
    const known = st.isFile() ? this.hashes.lookup(abs, st) : undefined;
    if (known !== undefined) {
      const ref: FileRef = { hash: known, size: st.size, executable };
      this.files.local(ref, abs);
      return ref;
    }
    const bytes = st.size <= 64 * 1024 ? readFileSync(abs) : await readFile(abs);
    const ref: FileRef = { hash: sha256(bytes), size: bytes.byteLength, executable };
    if (bytes.byteLength === st.size) this.hashes.record(abs, st, ref.hash, Date.now());
    this.files.local(ref, abs);
    return ref;
  }

  /** The cluster closes: what was learnt of the driver's files is kept for the next driver. */
  close(): void {
    this.hashes.flush();
  }

  putBytes(bytes: Uint8Array, executable: boolean): FileRef {
    return this.files.bytes(bytes, executable);
  }

  async putDir(dir: string): Promise<Directory> {
    const root = await realpath(path.resolve(dir));
    const files: Record<string, FileRef> = {};
    const walk = async (rel: string): Promise<void> => {
      for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
        const r = rel === "" ? e.name : `${rel}/${e.name}`;
        const full = path.join(root, r);
        if (e.isDirectory()) await walk(r);
        else if (e.isFile()) files[r] = await this.putFile(full);
        else if (e.isSymbolicLink()) {
          const target = await realpath(full);
          if (!target.startsWith(root + path.sep)) throw new SandboxError(r, `a symlink leading out of ${root}`);
          if ((await stat(target)).isFile()) files[r] = await this.putFile(target);
        }
      }
    };
    await walk("");
    return { files };
  }

  async getFile(ref: FileRef, dest: string): Promise<void> {
    const bytes = (await this.files.localBytes(ref)) ?? (await this.fetchFile(ref));
    const abs = path.resolve(dest);
    await mkdir(path.dirname(abs), { recursive: true });
    const tmp = `${abs}.strand-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, bytes, { mode: ref.executable ? 0o755 : 0o644 });
    await rename(tmp, abs);
  }

  private async fetchFile(ref: FileRef): Promise<Uint8Array> {
    const id = fileObjectId(ref.hash, ref.executable);
    const reasons: string[] = [];
    for (const address of this.files.holders(ref, this.live)) {
      const r = this.host.runners().find((x) => x.address === address && x.alive)!;
      try {
        const v = await r.fetch(id);
        if (!(v instanceof Uint8Array) || sha256(v) !== ref.hash) throw new Error("the runner sent other bytes");
        return v;
      } catch (err) {
        this.files.notHeld(ref, address);
        reasons.push(`${address}: ${(err as Error).message}`);
      }
    }
    throw new ObjectLostError(id, reasons.length === 0 ? "no connected runner holds it" : reasons.join("; "));
  }

  /** The inputs as files: Directories spread out, Refs' bytes hashed (their value comes through the driver once). */
  private async flatten(inputs: ExecSpec["inputs"]): Promise<[string, FileRef][]> {
    const out: [string, FileRef][] = [];
    for (const [p, v] of Object.entries(inputs)) {
      if (v instanceof Ref) {
        const bytes = await this.host.get(v as Ref<unknown>);
        if (!(bytes instanceof Uint8Array)) throw new TypeError(`exec: input ${p} is a Ref of ${typeof bytes}, not of a Uint8Array`);
        out.push([p, this.files.bytes(bytes)]);
      } else if (isFileRef(v)) {
        if (!this.files.knows(v)) throw new ObjectLostError(fileObjectId(v.hash, v.executable), `input ${p}: a FileRef this cluster never made or put`);
        out.push([p, v]);
      } else if (isDirectory(v)) {
        for (const [rel, f] of Object.entries(v.files)) out.push([rel === "" ? p : `${p}/${rel}`, f]);
      } else {
        throw new TypeError(`exec: input ${p} must be a FileRef, a Ref<Uint8Array> or a Directory`);
      }
    }
    return out;
  }

  /** Checks what can be checked before anything moves: argv, paths, tools. */
  check(spec: ExecSpec, label?: string): void {
    if (!Array.isArray(spec.argv) || spec.argv.length === 0 || !spec.argv.every((a) => typeof a === "string")) {
      throw new TypeError(`exec${label === undefined ? "" : ` (${label})`}: argv must be a non-empty list of strings`);
    }
    const inputs = Object.keys(spec.inputs).map((p) => sandboxPath(p));
    checkLayout(inputs, spec.outputs.map((p) => sandboxPath(p)));
    if (spec.cwd !== undefined) sandboxPath(spec.cwd, true);
    checkRequirements(spec.tools ?? []);
    if (spec.timeout !== undefined && (!Number.isFinite(spec.timeout) || spec.timeout <= 0)) throw new TypeError(`exec: timeout must be a positive number of ms`);
    if (spec.buildId !== undefined && (typeof spec.buildId.id !== "string" || spec.buildId.id === "" || !spec.outputs.map((o) => sandboxPath(o)).includes(sandboxPath(spec.buildId.path)))) {
      throw new TypeError(`exec${label === undefined ? "" : ` (${label})`}: buildId must name one of the outputs and the build ID its tool wrote`);
    }
  }

  /** The action key: what the command is, and what it reads, by content. */
  private key(spec: ExecSpec, inputs: [string, FileRef][], outputs: string[], cwd: string, tools: string[]): string {
    const env = Object.entries(spec.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const files = inputs.map(([p, f]) => [p, f.hash, f.executable] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const stamp = spec.buildId === undefined ? [] : [["buildId", sandboxPath(spec.buildId.path), spec.buildId.id]];
    const how = [...(spec.expand === true ? ["expand"] : []), ...(spec.stdoutToStderr === true ? ["stdoutToStderr"] : [])];
    return createHash("sha256").update(JSON.stringify(["strand-exec/1", spec.argv, env, cwd, tools, files, [...outputs].sort(), ...stamp, ...(how.length > 0 ? [how] : [])])).digest("hex");
  }

  /** An action as it will be sent: its inputs as files, paths checked, its key. */
  private async prepare(spec: ExecSpec, label: string | undefined): Promise<Prepared> {
    this.check(spec, label);
    const inputs = (await this.flatten(spec.inputs)).map(([p, f]) => [sandboxPath(p), f] as [string, FileRef]);
    const outputs = spec.outputs.map((p) => sandboxPath(p));
    checkLayout(inputs.map(([p]) => p), outputs);
    const cwd = sandboxPath(spec.cwd ?? ".", true);
    const required = spec.tools ?? [];
    if (!this.host.runners().some((r) => r.usable)) await this.host.whenLive();
    const candidates = (): ExecRunner[] => this.host.runners().filter((r) => r.usable && (spec.runner === undefined || r.address === spec.runner));
    requireTools(candidates(), required, label);
    if (spec.runner !== undefined && candidates().length === 0) throw new RunnerLostError(spec.runner, "exec asked for this runner, which is not connected");
    const key = this.key(spec, inputs, outputs, cwd, toolIdentity(candidates(), required));
    return { inputs, outputs, cwd, required, candidates, key };
  }

  /** The driver's memory of `key`, if every output of it is still on a connected runner: the runner holding them all (or the first). */
  private knownHit(key: string): { known: Remembered; runner: string } | undefined {
    const known = this.remembered.get(key);
    if (known === undefined) return undefined;
    const where = known.outputs.map((o) => this.files.holders(o, this.live));
    if (!where.every((w) => w.length > 0)) return undefined;
    const runner = where.length === 0 ? undefined : where.reduce((a, b) => a.filter((x) => b.includes(x)))[0] ?? where[0]![0];
    return { known, runner: runner ?? "(driver)" };
  }

  /**
   * Asks the runners' action caches about many actions at once, before any is sent: one call
   * per runner for the whole batch, no thread slot, no input uploaded. A hit is remembered as
   * if this driver had run it (outputs held by the runners that answered), so exec() of it
   * answers at once. Each action's result (`cached`) if it is a hit, else undefined. A rebuild by a new
   * driver (empty memory) costs a round trip per level of the graph instead of one per action.
   */
  async probe(specs: ExecSpec[]): Promise<(ExecResult | undefined)[]> {
    const t0 = performance.now();
    const prepared = await Promise.all(specs.map(async (spec) => {
      try {
        return await this.prepare(spec, undefined);
      } catch {
        return undefined; // exec() of it will say why
      }
    }));
    const asked = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      if (p === undefined || this.knownHit(p.key) !== undefined) return;
      for (const r of p.candidates()) if (fits(r, p.required)) asked.set(r.address, [...(asked.get(r.address) ?? []), i]);
    });
    await Promise.all([...asked].map(async ([address, indices]) => {
      const runner = this.host.runners().find((r) => r.address === address && r.usable);
      if (runner === undefined) return;
      const keys = indices.map((i) => prepared[i]!.key);
      let hits: (ActionHit | null)[];
      try {
        hits = await this.host.lookup(runner, keys);
      } catch {
        return; // an older runner, or one lost: exec() will ask it action by action
      }
      hits.forEach((hit, j) => {
        if (hit === null || hit === undefined || !Array.isArray(hit.outputs)) return;
        for (const o of hit.outputs) this.files.held(o, address);
        if (!this.remembered.has(keys[j]!)) this.remembered.set(keys[j]!, { outputs: hit.outputs, stdout: hit.stdout, stderr: hit.stderr });
      });
    }));
    const totalMs = performance.now() - t0;
    return prepared.map((p) => {
      const hit = p === undefined ? undefined : this.knownHit(p.key);
      if (hit === undefined) return undefined;
      this.cachedHits++;
      return this.result(hit.known, hit.runner, true, zeroTimings(totalMs), 0, 0);
    });
  }

  private readonly warmed = new Map<string, Promise<void>>();

  /**
   * Readies every usable runner for commands before the first one is sent: ships the exec
   * module and opens the runner's file and action caches (an empty lookup: no thread slot,
   * nothing uploaded). Once per runner; a failure only means the first command pays it.
   * Why: the first exec call on a fresh runner took 200-540 ms (the module's code fetched
   * and loaded on the thread, the caches opened), all of it before the build's first
   * command; a build starts this while it plans (go build -n), so the two overlap.
   */
  warm(): Promise<void> {
    const all = this.host.runners().filter((r) => r.usable).map((r) => {
      let w = this.warmed.get(r.address);
      if (w === undefined) {
        w = this.host.lookup(r, []).then(() => undefined, () => undefined);
        this.warmed.set(r.address, w);
      }
      return w;
    });
    return Promise.all(all).then(() => undefined);
  }

  async exec(spec: ExecSpec, hooks: ExecHooks = {}): Promise<ExecResult> {
    const t0 = performance.now();
    const { inputs, outputs, cwd, required, candidates, key } = await this.prepare(spec, hooks.label);

    const hit = hooks.fresh === true ? undefined : this.knownHit(key);
    if (hit !== undefined) {
      this.cachedHits++;
      return this.result(hit.known, hit.runner, true, zeroTimings(performance.now() - t0), 0, 0);
    }

    // An input no connected runner holds, and the driver never had, cannot be sent: a graph remakes it (its producer's lineage).
    for (const [p, f] of inputs) {
      if (!this.files.hasLocal(f) && this.files.holders(f, this.live).length === 0) throw new ObjectLostError(fileObjectId(f.hash, f.executable), `input ${p}: no connected runner holds it`);
    }
    const fitsHere = (r: ExecRunner): boolean => (spec.runner === undefined || r.address === spec.runner) && fits(r, required);
    const affinity = (r: ExecRunner): number => inputs.reduce((s, [, f]) => s + (this.files.holders(f, (a) => a === r.address).length > 0 ? f.size + 1 : 0), 0);
    let avoid: string | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.host.closed()) throw new ClusterClosedError("exec");
      const q0 = performance.now();
      const lease = await this.slots.acquire(hooks.priority ?? 0, (r) => fitsHere(r) && (r.address !== avoid || !candidates().some((c) => c.address !== avoid && fitsHere(c))), affinity);
      const runner = lease.runner;
      const queueMs = performance.now() - q0;
      try {
        const inputsOf = (): ExecInput[] => inputs.map(([p, f]): ExecInput => ({ path: p, hash: f.hash, executable: f.executable, holders: this.files.holders(f, (a) => a !== runner.address && this.live(a)) }));
        const u0 = performance.now();
        const first = inputsOf();
        let uploaded = await this.inline(runner, inputs, first);
        let uploadMs = performance.now() - u0;
        const task: ExecTask = { key, argv: spec.argv, env: spec.env ?? {}, cwd, outputs, timeout: spec.timeout ?? 0, label: hooks.label, inputs: first, ...(spec.buildId !== undefined ? { buildId: { path: sandboxPath(spec.buildId.path), id: spec.buildId.id } } : {}),
          ...(spec.expand === true ? { expand: true } : {}), ...(spec.stdoutToStderr === true ? { stdoutToStderr: true } : {}), ...(lease.ahead ? { ahead: true } : {}) };
        hooks.onSent?.(runner.address);
        let answer = await this.host.call(runner, task);
        if (answer.missing !== undefined) {
          // The runner lacks files only this driver has (and had no cached result): send them, ask again.
          const p0 = performance.now();
          uploaded += await this.upload(runner, inputs, new Set(answer.missing));
          uploadMs += performance.now() - p0;
          answer = await this.host.call(runner, { ...task, inputs: inputsOf() });
          if (answer.missing !== undefined) throw new ObjectLostError(answer.missing[0]!, `runner ${runner.address} still lacks it after it was sent`);
        }
        for (const o of answer.outputs) this.files.held(o, runner.address);
        if (!answer.cached) for (const [, f] of inputs) this.files.held(f, runner.address);
        const remembered = { outputs: answer.outputs, stdout: answer.stdout, stderr: answer.stderr };
        this.remembered.set(key, remembered);
        if (answer.cached) this.cachedHits++;
        else this.ran++;
        const p = answer.phases;
        return this.result(remembered, runner.address, answer.cached,
          { queueMs, uploadMs, fetchMs: p.fetchMs, setupMs: p.setupMs, waitMs: p.waitMs ?? 0, runMs: p.runMs, storeMs: p.storeMs, totalMs: performance.now() - t0, ahead: lease.ahead, startedAt: p.startedAt ?? 0, endedAt: p.endedAt ?? 0 }, uploaded, answer.bytesFetched);
      } catch (err) {
        // A sandbox the runner could not set up ran nothing: run it again, elsewhere if there is an elsewhere.
        const lost = err instanceof RunnerLostError || err instanceof SandboxSetupError || (err instanceof ObjectLostError && err.objectId.startsWith("file:") && this.recoverable(inputs));
        if (!lost || attempt >= RETRIES || this.host.closed()) throw err;
        if (err instanceof RunnerLostError || err instanceof SandboxSetupError) avoid = runner.address;
      } finally {
        this.slots.release(lease);
      }
    }
  }

  /** After a failed fetch: whether every input can still be had (a live holder, or the driver's own copy). */
  private recoverable(inputs: [string, FileRef][]): boolean {
    return inputs.every(([, f]) => this.files.hasLocal(f) || this.files.holders(f, this.live).length > 0);
  }

  /**
   * Puts the bytes of small inputs only the driver has, and `runner` is not known to hold,
   * into the task's inputs (`task`, in the order of `inputs`); the bytes so sent.
   */
  private async inline(runner: ExecRunner, inputs: [string, FileRef][], task: ExecInput[]): Promise<number> {
    let total = 0;
    const reads: Promise<void>[] = [];
    inputs.forEach(([, f], i) => {
      if (f.size > INLINE_MAX || total + f.size > INLINE_TOTAL || task[i]!.holders.length > 0) return;
      if (this.files.holders(f, (a) => a === runner.address).length > 0 || !this.files.hasLocal(f)) return;
      total += f.size;
      reads.push(this.files.localBytes(f).then((b) => {
        if (b !== undefined) task[i]!.bytes = b;
      }));
    });
    await Promise.all(reads);
    return task.reduce((s, t) => s + (t.bytes?.byteLength ?? 0), 0);
  }

  /** Sends `runner` the inputs it asked for (`wanted`, file ids), which only the driver has; the bytes sent. */
  private async upload(runner: ExecRunner, inputs: [string, FileRef][], wanted: Set<string>): Promise<number> {
    const sends: Promise<number>[] = [];
    for (const [, f] of inputs) {
      const id = fileObjectId(f.hash, f.executable);
      if (!wanted.delete(id)) continue;
      if (!this.files.hasLocal(f)) throw new ObjectLostError(id, `runner ${runner.address} lacks it, and this driver never had it`);
      sends.push(this.files.localBytes(f).then(async (bytes) => {
        await runner.put(id, encodeValue(bytes!, "file"));
        this.files.held(f, runner.address);
        return bytes!.byteLength;
      }));
    }
    return (await Promise.all(sends)).reduce((a, b) => a + b, 0);
  }

  private result(r: Remembered, runner: string, cached: boolean, timings: ExecTimings, bytesUploaded: number, bytesFetched: number): ExecResult {
    const outputs: Record<string, FileRef> = {};
    for (const o of r.outputs) outputs[o.path] = { hash: o.hash, size: o.size, executable: o.executable };
    return { outputs, stdout: r.stdout, stderr: r.stderr, exitCode: 0, runner, cached, timings, bytesUploaded, bytesFetched };
  }
}
