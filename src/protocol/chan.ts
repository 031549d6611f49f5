import { CancelledError, TimeoutError } from "../errors.ts";
import type { CallOptions } from "./call-options.ts";

/** What a receive yields: a value, or `done` once the channel is closed and drained. */
export type RecvResult<T> = { value: T; done: false } | { value: undefined; done: true };

/**
 * What a channel is to code that may only send on it (Go's `chan<- T`). `Chan<T>` is one;
 * a receive through this type does not compile.
 */
export interface SendChan<in T> {
  readonly id: string;
  readonly capacity: number;
  /** Values waiting in the buffer now (Go's `len`), as the channel's home counts them. */
  readonly length: Promise<number>;
  send(value: T, options?: { signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a channel is to code that may only receive from it (Go's `<-chan T`). `Chan<T>` is
 * one; a send or close through this type does not compile.
 */
export interface RecvChan<out T> {
  readonly id: string;
  readonly capacity: number;
  /** Values waiting in the buffer now (Go's `len`), as the channel's home counts them. */
  readonly length: Promise<number>;
  recv(options?: { signal?: AbortSignal }): Promise<RecvResult<T>>;
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined>;
}

/**
 * One case of a select: receive from a channel, or send a value on one. A `null` or
 * `undefined` channel is Go's nil channel: its case is never ready (the idiom for turning a
 * case off).
 */
export type SelectCase =
  | { recv: RecvChan<unknown> | null | undefined }
  | { send: SendChan<never> | null | undefined; value: unknown };

export interface SelectOptions extends CallOptions {
  /** Go's `default:` — if no case is ready now, return `{ index: -1 }` at once. */
  default?: boolean;
}

/** The case that ran: its index, and for a receive what it got. `index: -1`: the default ran. */
export interface Selected {
  index: number;
  value?: unknown;
  /** A receive case whose channel is closed and drained. */
  done?: boolean;
}

/** A case as the channel's home sees it. */
export type WireCase = { op: "recv"; chan: string } | { op: "send"; chan: string; value: unknown };

/**
 * How a channel handle reaches its channel: directly in the process that created it (the
 * home), through the runner and the network everywhere else.
 */
export interface ChanOps {
  send(chan: string, value: unknown, signal: AbortSignal | undefined): Promise<void>;
  recv(chan: string, signal: AbortSignal | undefined): Promise<RecvResult<unknown>>;
  close(chan: string): Promise<void>;
  /** How many values are buffered now (Go's `len`). */
  len(chan: string): Promise<number>;
  select(cases: WireCase[], options: SelectOptions): Promise<Selected>;
}

// Channel operations waiting now, in this thread: a runner thread counts them to tell a
// goroutine blocked on a channel (it uses no CPU) from one that runs (runner/goroutines/locality.ts).
// Registered, because user modules bundle their own copy of `select`.
const kWaiting = Symbol.for("strand.chan.waiting");
interface WaitCount { n: number }

/** For runner threads: the count of this thread's channel operations waiting now. */
export function chanWaitCount(): WaitCount {
  const g = globalThis as { [kWaiting]?: WaitCount };
  return (g[kWaiting] ??= { n: 0 });
}

function waiting<T>(p: Promise<T>): Promise<T> {
  const c = (globalThis as { [kWaiting]?: WaitCount })[kWaiting];
  if (c === undefined) return p;
  c.n++;
  const done = (): void => {
    c.n--;
  };
  p.then(done, done);
  return p;
}

// A registered symbol, not a module-private map: a user module that imports `select` from
// strand/runtime bundles its own copy of this file, and must still reach the runner's handles.
const kOps = Symbol.for("strand.chan.ops");
const opsOf = (ch: unknown): ChanOps | undefined =>
  typeof ch === "object" && ch !== null ? (ch as { [kOps]?: ChanOps })[kOps] : undefined;

/**
 * A Go channel that works across the cluster. Create one with `cluster.chan<T>(capacity)`;
 * pass it to remote functions (inside arguments or over other channels) and use it the same
 * way there. `capacity` 0 is unbuffered: a send completes when a receiver takes the value.
 */
export class Chan<T> implements SendChan<T>, RecvChan<T> {
  /** @internal made by a cluster, or by a runner decoding a channel it was given */
  declare private readonly [kOps]: ChanOps;

  constructor(readonly id: string, readonly capacity: number, ops: ChanOps) {
    Object.defineProperty(this, kOps, { value: ops, enumerable: false });
  }

  /** Resolves when the value is in the buffer or with a receiver; blocks while the buffer is full. */
  send(value: T, options: { signal?: AbortSignal } = {}): Promise<void> {
    return waiting(this[kOps].send(this.id, value, options.signal));
  }

  /** The next value, or `{ done: true }` once the channel is closed and drained. */
  recv(options: { signal?: AbortSignal } = {}): Promise<RecvResult<T>> {
    return waiting(this[kOps].recv(this.id, options.signal) as Promise<RecvResult<T>>);
  }

  /**
   * Values waiting in the buffer now (Go's `len(ch)`): `await ch.length`. A snapshot from the
   * channel's home, stale as soon as it is read, as in Go. Always 0 for an unbuffered channel.
   */
  get length(): Promise<number> {
    return this[kOps].len(this.id);
  }

  /** No more sends: receivers drain what is buffered, then see `done`. Closing twice throws ChannelClosedError. */
  close(): Promise<void> {
    return this[kOps].close(this.id);
  }

  /** `for await (const v of ch)`: receives until the channel is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const r = await this.recv();
      if (r.done) return;
      yield r.value;
    }
  }

  toString(): string {
    return `Chan(${this.id})`;
  }
}

const kMake = Symbol.for("strand.chan.make");
type Maker = (capacity: number) => Chan<unknown>;

/**
 * Go's `make(chan T, capacity)` inside a remote function: a channel whose home is the
 * runner thread running it. Pass it anywhere channels go (arguments, results, other
 * channels); its values travel straight between the threads that use it. On the driver,
 * use `cluster.chan()`.
 */
export function chan<T>(capacity = 0): Chan<T> {
  const make = (globalThis as { [kMake]?: Maker })[kMake];
  if (make === undefined) throw new TypeError("chan() makes a channel inside a remote function (on a runner thread); on the driver, use cluster.chan()");
  return make(capacity) as Chan<T>;
}

/** For the runner's worker threads: how `chan()` makes a channel homed on this thread. */
export function provideChanMaker(make: Maker): void {
  (globalThis as { [kMake]?: Maker })[kMake] = make;
}

/**
 * Go's `select`: waits until one of the cases can proceed and runs exactly that one,
 * choosing uniformly among those ready at once. All channels must come from one cluster.
 * Cases on nil channels (`null`/`undefined`) are never ready; a select with no case left
 * waits for its signal or timeout, or forever, as Go's `select {}`.
 */
export function select(cases: readonly SelectCase[], options: SelectOptions = {}): Promise<Selected> {
  let ops: ChanOps | undefined;
  const wire: WireCase[] = [];
  /** The caller's index of each case sent, nil cases left out. */
  const indexOf: number[] = [];
  try {
    cases.forEach((c, i) => {
      if (typeof c !== "object" || c === null || !("recv" in c || "send" in c)) throw new TypeError(`select case ${i} is neither { recv } nor { send, value }`);
      const ch = "recv" in c ? c.recv : c.send;
      if (ch === null || ch === undefined) return; // a nil channel: never ready
      const o = opsOf(ch);
      if (o === undefined) throw new TypeError(`select case ${i} has no channel`);
      if (ops !== undefined && o !== ops) {
        throw new TypeError("select over channels with different homes: its channels must all be made in one place (one cluster's driver, or one runner thread)");
      }
      ops = o;
      indexOf.push(i);
      wire.push("recv" in c ? { op: "recv", chan: ch.id } : { op: "send", chan: ch.id, value: c.value });
    });
  } catch (err) {
    return Promise.reject(err as Error);
  }
  if (ops === undefined) return options.default === true ? Promise.resolve({ index: -1 }) : waiting(blockForever(options));
  return waiting(ops.select(wire, options)).then((s) => (s.index < 0 ? s : { ...s, index: indexOf[s.index]! }));
}

/** `select {}`: nothing can ever be ready, so only the signal or the timeout ends it. */
function blockForever(options: SelectOptions): Promise<Selected> {
  const { signal, timeout } = options;
  if (signal?.aborted) return Promise.reject(new CancelledError("select cancelled", { cause: signal.reason }));
  return new Promise<Selected>((_, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError("select cancelled", { cause: signal?.reason }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        reject(new TimeoutError("select", timeout));
      }, timeout);
    }
  });
}
