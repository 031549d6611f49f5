// Error classes with stable codes. Like undici's, `instanceof` is decided by the
// `code` brand rather than by prototype identity, so it still works when two copies
// of strand are loaded or when an error was rebuilt from the wire.

const kCode = Symbol.for("strand.error.code");

export type StrandErrorCode =
  | "ERR_STRAND_REMOTE"
  | "ERR_STRAND_RUNNER_LOST"
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
  | "ERR_STRAND_JOB_ABORTED";

/** Extra fields a Strand error carries across the wire besides message/stack/cause. */
export type ErrorFields = Record<string, string | number | boolean | undefined>;

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

/** User code on a runner threw or rejected. */
export class RemoteError extends StrandError {
  static readonly code = "ERR_STRAND_REMOTE";
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
    return { runner: this.runner, attempts: this.attempts };
  }
}

/** A value cannot cross the wire; `path` names where, e.g. `args[1].onDone`. */
export class SerializationError extends StrandError {
  static readonly code = "ERR_STRAND_SERIALIZATION";
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
  constructor(message: string) {
    super(AuthError.code, message);
  }
}

/** The peer broke the protocol: bad frame, unknown message, version mismatch. */
export class ProtocolError extends StrandError {
  static readonly code = "ERR_STRAND_PROTOCOL";
  constructor(message: string) {
    super(ProtocolError.code, message);
  }
}

export class TimeoutError extends StrandError {
  static readonly code = "ERR_STRAND_TIMEOUT";
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
  constructor(message: string, options?: { cause?: unknown }) {
    super(CancelledError.code, message, options);
  }
}

/** The module could not be bundled or loaded, or the export is missing or not a function. */
export class ImportError extends StrandError {
  static readonly code = "ERR_STRAND_IMPORT";
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
  readonly objectId: string;
  constructor(objectId: string, reason: string) {
    super(ObjectLostError.code, `object ${objectId} lost: ${reason}`);
    this.objectId = objectId;
  }
  override fields(): ErrorFields {
    return { objectId: this.objectId };
  }
}

/** A runner's object store is at its memory budget: the put, fetch or result did not fit. */
export class ObjectStoreFullError extends StrandError {
  static readonly code = "ERR_STRAND_OBJECT_STORE_FULL";
  readonly neededBytes: number;
  readonly budgetBytes: number;
  constructor(neededBytes: number, usedBytes: number, budgetBytes: number) {
    super(ObjectStoreFullError.code,
      `object store full: ${neededBytes} bytes needed, ${usedBytes} of ${budgetBytes} in use (raise --object-memory or release refs)`);
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
 * An SPMD job stopped because one of its ranks failed (threw, or its runner died): every
 * other rank's pending operation fails with it, and `spmd()` rejects with it (the failed
 * rank's own error as `cause`).
 */
export class JobAbortedError extends StrandError {
  static readonly code = "ERR_STRAND_JOB_ABORTED";
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
 * Rebuilds a Strand error that crossed the wire as (code, message, fields).
 * Returns undefined for codes this copy of strand does not know.
 */
export function reviveStrandError(code: string, message: string, f: ErrorFields): StrandError | undefined {
  const s = (k: string): string => String(f[k] ?? "");
  let e: StrandError;
  switch (code) {
    case RemoteError.code:
      e = new RemoteError({
        message, remoteName: s("remoteName"), remoteStack: s("remoteStack"),
        remoteCode: f.remoteCode === undefined ? undefined : s("remoteCode"),
        functionName: s("functionName"), runner: s("runner"),
      });
      break;
    case RunnerLostError.code: e = new RunnerLostError(s("runner"), message, typeof f.attempts === "number" ? f.attempts : undefined); break;
    case SerializationError.code: e = new SerializationError(s("path"), ""); break;
    case AuthError.code: e = new AuthError(message); break;
    case ProtocolError.code: e = new ProtocolError(message); break;
    case TimeoutError.code: e = new TimeoutError("", Number(f.timeoutMs ?? 0)); break;
    case CancelledError.code: e = new CancelledError(message); break;
    case ImportError.code: e = new ImportError(message); break;
    case ObjectLostError.code: e = new ObjectLostError(s("objectId"), ""); break;
    case ChannelClosedError.code: e = new ChannelClosedError(s("channel"), ""); break;
    case ChannelBrokenError.code: e = new ChannelBrokenError(s("channel"), ""); break;
    case JobAbortedError.code: e = new JobAbortedError(Number(f.rank ?? -1), s("reason")); break;
    case ObjectStoreFullError.code: e = new ObjectStoreFullError(Number(f.neededBytes ?? 0), 0, Number(f.budgetBytes ?? 0)); break;
    default: return undefined;
  }
  e.message = message;
  return e;
}
