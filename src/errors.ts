// Error classes with stable codes. Like undici's, `instanceof` is decided by the
// `code` brand rather than by prototype identity, so it still works when two copies
// of strand are loaded or when an error was rebuilt from the wire.
//
// Each class registers, where it is declared, how it is rebuilt from its wire form (its
// code and its own fields), so that a class cannot exist without a way back from the wire.

const kCode = Symbol.for("strand.error.code");

export type StrandErrorCode =
  | "ERR_STRAND_REMOTE"
  | "ERR_STRAND_RUNNER_LOST"
  | "ERR_STRAND_NO_RUNNERS"
  | "ERR_STRAND_CLUSTER_CLOSED"
  | "ERR_STRAND_SERIALIZATION"
  | "ERR_STRAND_AUTH"
  | "ERR_STRAND_PROTOCOL"
  | "ERR_STRAND_TIMEOUT"
  | "ERR_STRAND_CANCELLED"
  | "ERR_STRAND_IMPORT"
  | "ERR_STRAND_OBJECT_LOST"
  | "ERR_STRAND_OBJECT_STORE_FULL"
  | "ERR_STRAND_CHANNEL_CLOSED"
  | "ERR_STRAND_CHANNEL_BROKEN"
  | "ERR_STRAND_GOROUTINE_LIMIT"
  | "ERR_STRAND_JOB_ABORTED"
  | "ERR_STRAND_SLURM"
  | "ERR_STRAND_WASM_IMPORT"
  | "ERR_STRAND_WASM_TRAP"
  | "ERR_STRAND_WASM_EXIT"
  | "ERR_STRAND_MPI"
  | "ERR_STRAND_MPI_ABORT"
  | "ERR_STRAND_ACTOR_DIED"
  | "ERR_STRAND_ACTOR_NOT_FOUND"
  | "ERR_STRAND_ACTOR_EXISTS"
  | "ERR_STRAND_COMMAND"
  | "ERR_STRAND_TOOLCHAIN"
  | "ERR_STRAND_SANDBOX"
  | "ERR_STRAND_SANDBOX_SETUP"
  | "ERR_STRAND_SPAWN_HELPER";

/** Extra fields a Strand error carries across the wire besides message/stack/cause. */
export type ErrorFields = Record<string, string | number | boolean | undefined>;

/** A registered error's fields did not have the types its class gives them. */
class MalformedFields extends Error {}

/**
 * The fields of an error read back from the wire, each with the type its class expects:
 * the peer is not trusted, so a field that is missing or of another type makes the
 * whole error malformed rather than a wrongly typed instance.
 */
class WireFields {
  constructor(private readonly fields: Readonly<Record<string, unknown>>) {}

  string(name: string): string {
    const v = this.get(name);
    if (typeof v !== "string") throw new MalformedFields(name);
    return v;
  }

  number(name: string): number {
    const v = this.get(name);
    if (typeof v !== "number") throw new MalformedFields(name);
    return v;
  }

  optionalString(name: string): string | undefined {
    return this.get(name) === undefined ? undefined : this.string(name);
  }

  optionalNumber(name: string): number | undefined {
    return this.get(name) === undefined ? undefined : this.number(name);
  }

  private get(name: string): unknown {
    // hasOwn: a name must never find Object.prototype's members.
    return Object.hasOwn(this.fields, name) ? this.fields[name] : undefined;
  }
}

/** An error class with a stable code, as the registry knows it. */
export interface ErrorClass<E extends StrandError = StrandError> {
  readonly code: StrandErrorCode;
  readonly name: string;
  readonly prototype: E;
}

/**
 * Rebuilds an instance from its own fields. The message is restored afterwards (it may
 * have been added to since the error was made, e.g. where a call failed), so parts of it
 * that are not fields may be left empty here.
 */
type Reviver<E extends StrandError> = (fields: WireFields) => E;

const registry = new Map<string, { Class: ErrorClass; revive: Reviver<StrandError> }>();

function register<E extends StrandError>(Class: ErrorClass<E>, revive: Reviver<E>): void {
  if (registry.has(Class.code)) throw new Error(`error code ${Class.code} registered twice`);
  registry.set(Class.code, { Class, revive });
}

/** The class registered for a code, if any. */
export function errorClassOf(code: string): ErrorClass | undefined {
  return registry.get(code)?.Class;
}

/** Every registered error class. */
export function errorClasses(): ErrorClass[] {
  return [...registry.values()].map((r) => r.Class);
}

export class StrandError extends Error {
  readonly code: StrandErrorCode | "ERR_STRAND";
  declare readonly [kCode]: string;

  constructor(code: StrandErrorCode | "ERR_STRAND", message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, kCode, { value: code, enumerable: false });
    this.name = new.target.name;
  }

  /** Own fields that must survive serialization (subclasses add theirs). */
  fields(): ErrorFields {
    return {};
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    const code = (value as { [kCode]?: unknown })[kCode];
    if (typeof code !== "string") return false;
    const self = this as unknown as { code?: string };
    return self.code === undefined || self.code === code;
  }
}

/**
 * Rebuilds a Strand error that crossed the wire as (code, name, message, fields): an
 * instance of its registered class, with its fields and message. A code this copy of
 * strand does not know (a newer peer's), or fields that do not fit their class, give a
 * plain StrandError that says so: a peer's error never stops us reading it.
 */
export function reviveStrandError(code: string, name: string, message: string, fields: Readonly<Record<string, unknown>>): StrandError {
  const entry = registry.get(code);
  let problem: string | undefined;
  if (entry !== undefined) {
    try {
      const e = entry.revive(new WireFields(fields));
      e.message = message;
      return e;
    } catch (err) {
      if (!(err instanceof MalformedFields)) throw err;
      problem = `its field ${JSON.stringify(err.message)} is missing or malformed`;
    }
  } else if (code !== "ERR_STRAND") {
    problem = "this copy of strand does not know that code";
  }
  const e = new StrandError("ERR_STRAND", problem === undefined ? message : `${message} [${code}: ${problem}]`);
  Object.defineProperty(e, "name", { value: name, writable: true, configurable: true });
  return e;
}

/** User code on a runner threw or rejected. */
export class RemoteError extends StrandError {
  static readonly code = "ERR_STRAND_REMOTE";
  static {
    register(RemoteError, (f) => new RemoteError({
      message: "", remoteName: f.string("remoteName"), remoteStack: f.string("remoteStack"),
      remoteCode: f.optionalString("remoteCode"), functionName: f.string("functionName"), runner: f.string("runner"),
    }));
  }
  readonly remoteName: string;
  readonly remoteStack: string;
  readonly remoteCode: string | undefined;
  readonly functionName: string;
  readonly runner: string;

  constructor(init: {
    message: string;
    remoteName: string;
    remoteStack: string;
    remoteCode?: string | undefined;
    functionName: string;
    runner: string;
    cause?: unknown;
  }) {
    super(RemoteError.code, `${init.remoteName}: ${init.message} (in ${init.functionName} on runner ${init.runner})`,
      init.cause === undefined ? undefined : { cause: init.cause });
    this.remoteName = init.remoteName;
    this.remoteStack = init.remoteStack;
    this.remoteCode = init.remoteCode;
    this.functionName = init.functionName;
    this.runner = init.runner;
    // The local stack says only "a promise settled"; the remote one says where it threw.
    this.stack = `${this.name}: ${this.message}\n    --- remote stack (${init.runner}) ---\n${init.remoteStack}`;
  }

  override fields(): ErrorFields {
    return {
      remoteName: this.remoteName, remoteStack: this.remoteStack, remoteCode: this.remoteCode,
      functionName: this.functionName, runner: this.runner,
    };
  }
}

/**
 * The runner executing a call died, disconnected or stopped answering heartbeats. On the
 * error a call finally settles with, `attempts` says how many times it was sent.
 */
export class RunnerLostError extends StrandError {
  static readonly code = "ERR_STRAND_RUNNER_LOST";
  static {
    register(RunnerLostError, (f) => new RunnerLostError(f.string("runner"), f.string("reason"), f.optionalNumber("attempts")));
  }
  readonly runner: string;
  readonly reason: string;
  readonly attempts: number | undefined;
  constructor(runner: string, reason: string, attempts?: number) {
    const tried = attempts === undefined ? "" : ` (after ${attempts} ${attempts === 1 ? "attempt" : "attempts"})`;
    super(RunnerLostError.code, `runner ${runner} lost: ${reason}${tried}`);
    this.runner = runner;
    this.reason = reason;
    this.attempts = attempts;
  }
  override fields(): ErrorFields {
    return { runner: this.runner, reason: this.reason, attempts: this.attempts };
  }
}

/**
 * No runner was live for as long as the cluster waits for one (`waitForRunners`, default
 * 60 s): the call, put or job queued for `waitedMs` and none joined (a cluster scaled to
 * zero that did not scale up, every runner restarting for too long, a head with no runners).
 */
export class NoRunnersError extends StrandError {
  static readonly code = "ERR_STRAND_NO_RUNNERS";
  static {
    register(NoRunnersError, (f) => new NoRunnersError(f.string("operation"), f.number("waitedMs")));
  }
  readonly operation: string;
  readonly waitedMs: number;
  /** @param operation what waited, e.g. the function called or `put`. */
  constructor(operation: string, waitedMs: number) {
    super(NoRunnersError.code, `${operation}: no runner joined the cluster within ${waitedMs} ms (waitForRunners)`);
    this.operation = operation;
    this.waitedMs = waitedMs;
  }
  override fields(): ErrorFields {
    return { operation: this.operation, waitedMs: this.waitedMs };
  }
}

/**
 * The cluster was closed (`cluster.close()`) before this operation: calls, put, broadcast,
 * get, chan and spmd all refuse. Not a RunnerLostError: nothing failed, and nothing will
 * come back (see docs/decisions.md, Errors).
 */
export class ClusterClosedError extends StrandError {
  static readonly code = "ERR_STRAND_CLUSTER_CLOSED";
  static {
    register(ClusterClosedError, () => new ClusterClosedError(""));
  }
  /** @param operation what was refused, e.g. `put` or the function called. */
  constructor(operation: string) {
    super(ClusterClosedError.code, `${operation}: the cluster is closed`);
  }
}

/** A value cannot cross the wire; `path` names where, e.g. `args[1].onDone`. */
export class SerializationError extends StrandError {
  static readonly code = "ERR_STRAND_SERIALIZATION";
  static {
    register(SerializationError, (f) => new SerializationError(f.string("path"), ""));
  }
  readonly path: string;
  constructor(path: string, problem: string) {
    super(SerializationError.code, `${path} ${problem}`);
    this.path = path;
  }
  override fields(): ErrorFields {
    return { path: this.path };
  }
}

/** The shared-token challenge failed (either side). */
export class AuthError extends StrandError {
  static readonly code = "ERR_STRAND_AUTH";
  static {
    register(AuthError, () => new AuthError(""));
  }
  constructor(message: string) {
    super(AuthError.code, message);
  }
}

/** The peer broke the protocol: bad frame, unknown message, version mismatch. */
export class ProtocolError extends StrandError {
  static readonly code = "ERR_STRAND_PROTOCOL";
  static {
    register(ProtocolError, () => new ProtocolError(""));
  }
  constructor(message: string) {
    super(ProtocolError.code, message);
  }
}

export class TimeoutError extends StrandError {
  static readonly code = "ERR_STRAND_TIMEOUT";
  static {
    register(TimeoutError, (f) => new TimeoutError("", f.number("timeoutMs")));
  }
  readonly timeoutMs: number;
  constructor(functionName: string, timeoutMs: number) {
    super(TimeoutError.code, `${functionName} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
  override fields(): ErrorFields {
    return { timeoutMs: this.timeoutMs };
  }
}

export class CancelledError extends StrandError {
  static readonly code = "ERR_STRAND_CANCELLED";
  static {
    register(CancelledError, () => new CancelledError(""));
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(CancelledError.code, message, options);
  }
}

/** The module could not be bundled or loaded, or the export is missing or not a function. */
export class ImportError extends StrandError {
  static readonly code = "ERR_STRAND_IMPORT";
  static {
    register(ImportError, () => new ImportError(""));
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(ImportError.code, message, options);
  }
}

/**
 * An object is gone: released, or every copy was on runners that died and it cannot be
 * recomputed (it came from `put`, or its task's own inputs are gone too).
 */
export class ObjectLostError extends StrandError {
  static readonly code = "ERR_STRAND_OBJECT_LOST";
  static {
    register(ObjectLostError, (f) => new ObjectLostError(f.string("objectId"), ""));
  }
  readonly objectId: string;
  constructor(objectId: string, reason: string) {
    super(ObjectLostError.code, `object ${objectId} lost: ${reason}`);
    this.objectId = objectId;
  }
  override fields(): ErrorFields {
    return { objectId: this.objectId };
  }
}

/**
 * A runner's object store could not make room: the put, fetch or result is bigger than the
 * whole budget, or spilling to disk failed (a full disk). A store over its budget otherwise
 * spills its least recently used objects instead.
 */
export class ObjectStoreFullError extends StrandError {
  static readonly code = "ERR_STRAND_OBJECT_STORE_FULL";
  static {
    register(ObjectStoreFullError, (f) => new ObjectStoreFullError(f.number("neededBytes"), 0, f.number("budgetBytes")));
  }
  readonly neededBytes: number;
  readonly budgetBytes: number;
  /** `why`: what made room impossible, and what to do (an object bigger than the budget, a failed spill); default: the budget is used up. */
  constructor(neededBytes: number, usedBytes: number, budgetBytes: number, why?: string) {
    super(ObjectStoreFullError.code, why === undefined
      ? `object store full: ${neededBytes} bytes needed, ${usedBytes} of ${budgetBytes} in use (raise --object-memory or release refs)`
      : `object store full: ${neededBytes} bytes needed, ${usedBytes} of ${budgetBytes} in use: ${why}`);
    this.neededBytes = neededBytes;
    this.budgetBytes = budgetBytes;
  }
  override fields(): ErrorFields {
    return { neededBytes: this.neededBytes, budgetBytes: this.budgetBytes };
  }
}

/** Send on a closed channel, or close of a closed one (Go panics in both cases). */
export class ChannelClosedError extends StrandError {
  static readonly code = "ERR_STRAND_CHANNEL_CLOSED";
  static {
    register(ChannelClosedError, (f) => new ChannelClosedError(f.string("channel"), ""));
  }
  readonly channel: string;
  constructor(channel: string, message: string) {
    super(ChannelClosedError.code, `channel ${channel}: ${message}`);
    this.channel = channel;
  }
  override fields(): ErrorFields {
    return { channel: this.channel };
  }
}

/** A process holding the channel (its home driver, or a runner using it) died: it can no longer be used. */
export class ChannelBrokenError extends StrandError {
  static readonly code = "ERR_STRAND_CHANNEL_BROKEN";
  static {
    register(ChannelBrokenError, (f) => new ChannelBrokenError(f.string("channel"), ""));
  }
  readonly channel: string;
  constructor(channel: string, reason: string) {
    super(ChannelBrokenError.code, `channel ${channel} broken: ${reason}`);
    this.channel = channel;
  }
  override fields(): ErrorFields {
    return { channel: this.channel };
  }
}

/**
 * A runner refused to start a goroutine: it is at a real limit (its heap nearly full, or
 * `--max-goroutines` live). Said at the `go` call, never a silent queue. `runner` is the
 * address drivers dial (filled in by the driver: a runner's threads do not know it).
 */
export class GoroutineLimitError extends StrandError {
  static readonly code = "ERR_STRAND_GOROUTINE_LIMIT";
  static {
    register(GoroutineLimitError, (f) => new GoroutineLimitError(f.string("runner"), f.string("reason")));
  }
  readonly runner: string;
  readonly reason: string;
  constructor(runner: string, reason: string, functionName?: string) {
    const what = functionName === undefined ? "goroutine" : `goroutine ${functionName}`;
    super(GoroutineLimitError.code, `${what} refused${runner === "" ? "" : ` by runner ${runner}`}: ${reason}`);
    this.runner = runner;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { runner: this.runner, reason: this.reason };
  }
}

/**
 * An SPMD job stopped because one of its ranks failed (threw, or its runner died): every
 * other rank's pending operation fails with it, and `spmd()` rejects with it (the failed
 * rank's own error as `cause`).
 */
export class JobAbortedError extends StrandError {
  static readonly code = "ERR_STRAND_JOB_ABORTED";
  static {
    register(JobAbortedError, (f) => new JobAbortedError(f.number("rank"), f.string("reason")));
  }
  /** The rank (in the job) that failed first. */
  readonly rank: number;
  readonly reason: string;
  constructor(rank: number, reason: string, options?: { cause?: unknown }) {
    super(JobAbortedError.code, `job aborted: rank ${rank} failed: ${reason}`, options);
    this.rank = rank;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { rank: this.rank, reason: this.reason };
  }
}

/**
 * A Slurm command failed (`sbatch` refused a runner job, `squeue` or `scancel` could not reach
 * slurmctld, a command is missing): `command` is the command, `reason` what it said.
 */
export class SlurmError extends StrandError {
  static readonly code = "ERR_STRAND_SLURM";
  static {
    register(SlurmError, (f) => new SlurmError(f.string("command"), f.string("reason")));
  }
  readonly command: string;
  readonly reason: string;
  constructor(command: string, reason: string) {
    super(SlurmError.code, `${command}: ${reason}`);
    this.command = command;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { command: this.command, reason: this.reason };
  }
}

/**
 * A WebAssembly module imports what Strand does not provide: refused when it is loaded, before
 * any rank runs, naming every unknown import (`module.name`), not a crash at its first call.
 */
export class WasmImportError extends StrandError {
  static readonly code = "ERR_STRAND_WASM_IMPORT";
  static {
    register(WasmImportError, (f) => new WasmImportError(f.string("module"), f.string("unknown").split(", ")));
  }
  /** The .wasm file (or its content hash) that was refused. */
  readonly module: string;
  /** The unknown imports, `module.name`, joined by ", ". */
  readonly unknown: string;
  constructor(module: string, unknown: readonly string[]) {
    super(WasmImportError.code, `${module} imports what Strand does not provide: ${unknown.join(", ")}`);
    this.module = module;
    this.unknown = unknown.join(", ");
  }
  override fields(): ErrorFields {
    return { module: this.module, unknown: this.unknown };
  }
}

/** A Wasm rank trapped (unreachable, out-of-bounds access, stack overflow…): the job aborts with its Wasm stack. */
export class WasmTrapError extends StrandError {
  static readonly code = "ERR_STRAND_WASM_TRAP";
  static {
    register(WasmTrapError, (f) => new WasmTrapError(f.number("rank"), f.string("trap"), f.string("wasmStack")));
  }
  readonly rank: number;
  /** V8's message for the trap (e.g. "unreachable", "memory access out of bounds"). */
  readonly trap: string;
  /** The Wasm frames (function names where the module keeps them), innermost first. */
  readonly wasmStack: string;
  constructor(rank: number, trap: string, wasmStack: string) {
    super(WasmTrapError.code, `rank ${rank} trapped: ${trap}`);
    this.rank = rank;
    this.trap = trap;
    this.wasmStack = wasmStack;
    this.stack = `${this.name}: ${this.message}\n    --- wasm stack (rank ${rank}) ---\n${wasmStack}`;
  }
  override fields(): ErrorFields {
    return { rank: this.rank, trap: this.trap, wasmStack: this.wasmStack };
  }
}

/** A Wasm program's rank exited with a non-zero status (`exit(3)`, `return 3` from main): the job aborts as on a throw. */
export class WasmExitError extends StrandError {
  static readonly code = "ERR_STRAND_WASM_EXIT";
  static {
    register(WasmExitError, (f) => new WasmExitError(f.number("rank"), f.number("exitCode")));
  }
  readonly rank: number;
  readonly exitCode: number;
  constructor(rank: number, exitCode: number) {
    super(WasmExitError.code, `rank ${rank} exited with status ${exitCode}`);
    this.rank = rank;
    this.exitCode = exitCode;
  }
  override fields(): ErrorFields {
    return { rank: this.rank, exitCode: this.exitCode };
  }
}

/**
 * An MPI call from a Wasm rank was given what MPI forbids (a buffer outside linear memory, a
 * negative count, an unknown handle…): `call` is the MPI function, `rank` the caller's rank in
 * the job. Raised before anything is read or written; the job aborts (MPI_ERRORS_ARE_FATAL).
 */
export class MpiError extends StrandError {
  static readonly code = "ERR_STRAND_MPI";
  static {
    register(MpiError, (f) => new MpiError(f.string("call"), f.number("rank"), f.string("reason")));
  }
  readonly call: string;
  readonly rank: number;
  readonly reason: string;
  constructor(call: string, rank: number, reason: string) {
    super(MpiError.code, `${call} on rank ${rank}: ${reason}`);
    this.call = call;
    this.rank = rank;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { call: this.call, rank: this.rank, reason: this.reason };
  }
}

/** A rank called MPI_Abort: the job aborts; `errorCode` becomes `strand mpirun`'s exit status. */
export class MpiAbortError extends StrandError {
  static readonly code = "ERR_STRAND_MPI_ABORT";
  static {
    register(MpiAbortError, (f) => new MpiAbortError(f.number("rank"), f.number("errorCode")));
  }
  readonly rank: number;
  readonly errorCode: number;
  constructor(rank: number, errorCode: number) {
    super(MpiAbortError.code, `rank ${rank} called MPI_Abort with error code ${errorCode}`);
    this.rank = rank;
    this.errorCode = errorCode;
  }
  override fields(): ErrorFields {
    return { rank: this.rank, errorCode: this.errorCode };
  }
}

/**
 * An actor is gone: its runner or thread died, it was killed or released, or its restarts ran
 * out. Calls in flight when it died fail with this, and so do later calls through any handle
 * (an actor that may restart makes later calls wait instead). `reason` says which.
 */
export class ActorDiedError extends StrandError {
  static readonly code = "ERR_STRAND_ACTOR_DIED";
  static {
    register(ActorDiedError, (f) => new ActorDiedError(f.string("actorId"), f.string("className"), f.string("reason")));
  }
  readonly actorId: string;
  readonly className: string;
  readonly reason: string;
  constructor(actorId: string, className: string, reason: string, options?: { cause?: unknown }) {
    super(ActorDiedError.code, `actor ${className} (${actorId}) died: ${reason}`, options);
    this.actorId = actorId;
    this.className = className;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { actorId: this.actorId, className: this.className, reason: this.reason };
  }
}

/** `cluster.actor(name)`: no runner of the cluster holds an actor of that name. */
export class ActorNotFoundError extends StrandError {
  static readonly code = "ERR_STRAND_ACTOR_NOT_FOUND";
  static {
    register(ActorNotFoundError, (f) => new ActorNotFoundError(f.string("actorName")));
  }
  /** The name looked for. */
  readonly actorName: string;
  constructor(actorName: string) {
    super(ActorNotFoundError.code, `no actor is named "${actorName}" in the cluster`);
    this.actorName = actorName;
  }
  override fields(): ErrorFields {
    return { actorName: this.actorName };
  }
}

/** `spawn.with({ name })`: an actor of that name lives already (`getOrSpawn` returns it instead). */
export class ActorExistsError extends StrandError {
  static readonly code = "ERR_STRAND_ACTOR_EXISTS";
  static {
    register(ActorExistsError, (f) => new ActorExistsError(f.string("actorName"), f.string("actorId")));
  }
  readonly actorName: string;
  readonly actorId: string;
  constructor(actorName: string, actorId: string) {
    super(ActorExistsError.code, `an actor named "${actorName}" exists already (${actorId})`);
    this.actorName = actorName;
    this.actorId = actorId;
  }
  override fields(): ErrorFields {
    return { actorName: this.actorName, actorId: this.actorId };
  }
}

/** How much of a failed command's stderr a CommandError carries (its end: where compilers put the error). */
export const STDERR_TAIL_BYTES = 8 * 1024;

/**
 * A command (`cluster.exec`, an action of a command graph) exited non-zero or was killed by a
 * signal: `exitCode` (128 + the signal number for a signal, as shells report it), its `argv`,
 * and the tail of what it wrote to stderr (a compiler's message).
 */
export class CommandError extends StrandError {
  static readonly code = "ERR_STRAND_COMMAND";
  static {
    register(CommandError, (f) => new CommandError(JSON.parse(f.string("argv")) as string[], f.number("exitCode"), f.string("stderr"), f.optionalString("action")));
  }
  readonly argv: string[];
  readonly exitCode: number;
  /** The last STDERR_TAIL_BYTES of stderr. */
  readonly stderr: string;
  /** The graph action that ran it, when it was one. */
  action: string | undefined;
  constructor(argv: string[], exitCode: number, stderr: string, action?: string) {
    const tail = stderr.length > STDERR_TAIL_BYTES ? stderr.slice(-STDERR_TAIL_BYTES) : stderr;
    const shown = tail.trimEnd().split("\n").slice(-20).join("\n");
    super(CommandError.code, `${action === undefined ? "" : `action ${action}: `}${argv.slice(0, 3).join(" ")}${argv.length > 3 ? " ..." : ""} exited with status ${exitCode}${shown === "" ? "" : `:\n${shown}`}`);
    this.argv = [...argv];
    this.exitCode = exitCode;
    this.stderr = tail;
    this.action = action;
  }
  override fields(): ErrorFields {
    return { argv: JSON.stringify(this.argv), exitCode: this.exitCode, stderr: this.stderr, action: this.action };
  }
}

/**
 * The process that starts a runner thread's commands (runner/exec/spawn-helper.ts) died while
 * one of them ran (or could not take it): the command's fate is unknown, so it is neither a
 * success nor the command's own failure. `action`: the action or command it was running.
 */
export class SpawnHelperError extends StrandError {
  static readonly code = "ERR_STRAND_SPAWN_HELPER";
  static {
    register(SpawnHelperError, (f) => new SpawnHelperError(f.string("action"), f.string("reason")));
  }
  readonly action: string;
  readonly reason: string;
  constructor(action: string, reason: string) {
    super(SpawnHelperError.code, `${action}: the runner's spawn helper failed while running it (${reason})`);
    this.action = action;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { action: this.action, reason: this.reason };
  }
}

/**
 * No runner offers a tool an action requires (`tools: ["go@go1.19.8"]`): raised before
 * anything runs, naming what was required and what the runners offer.
 */
export class ToolchainError extends StrandError {
  static readonly code = "ERR_STRAND_TOOLCHAIN";
  static {
    register(ToolchainError, (f) => new ToolchainError(f.string("tool"), f.string("offered")));
  }
  /** The requirement no runner met, e.g. `go@go1.21.0`. */
  readonly tool: string;
  /** What the runners offer, e.g. `go@go1.19.8 (10.0.0.5:7700), gcc@12.2.0 (…)`; empty: nothing. */
  readonly offered: string;
  constructor(tool: string, offered: string, action?: string) {
    super(ToolchainError.code, `${action === undefined ? "" : `action ${action}: `}no runner offers ${tool} (runners offer: ${offered === "" ? "no tools" : offered})`);
    this.tool = tool;
    this.offered = offered;
  }
  override fields(): ErrorFields {
    return { tool: this.tool, offered: this.offered };
  }
}

/**
 * A command's declared inputs, outputs or cwd would reach outside its sandbox (an absolute
 * path, `..`, a symlink that leaves it), or an output is not a regular file.
 */
export class SandboxError extends StrandError {
  static readonly code = "ERR_STRAND_SANDBOX";
  static {
    register(SandboxError, (f) => new SandboxError(f.string("path"), f.string("reason")));
  }
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(SandboxError.code, `sandbox path ${JSON.stringify(path)} refused: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { path: this.path, reason: this.reason };
  }
}

/**
 * A runner could not set up an action's sandbox (shape its folders, hard-link an input in
 * from its file cache): the command did not run. Names the action, the sandbox path and what
 * was missing (the input's file in the runner's cache, or a folder of the sandbox) or what
 * failed. The driver runs the action again, on another runner where there is one.
 */
export class SandboxSetupError extends StrandError {
  static readonly code = "ERR_STRAND_SANDBOX_SETUP";
  static {
    register(SandboxSetupError, (f) => new SandboxSetupError(f.string("action"), f.string("path"), f.string("reason")));
  }
  readonly action: string;
  /** The sandbox-relative path being set up ("." for the sandbox itself). */
  readonly path: string;
  readonly reason: string;
  constructor(action: string, path: string, reason: string) {
    super(SandboxSetupError.code, `${action}: could not set up its sandbox at ${JSON.stringify(path)}: ${reason}`);
    this.action = action;
    this.path = path;
    this.reason = reason;
  }
  override fields(): ErrorFields {
    return { action: this.action, path: this.path, reason: this.reason };
  }
}
