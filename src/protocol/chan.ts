import type { CallOptions } from "./call-options.ts";

/** What a receive yields: a value, or `done` once the channel is closed and drained. */
export type RecvResult<T> = { value: T; done: false } | { value: undefined; done: true };

/** One case of a select: receive from a channel, or send a value on one. */
export type SelectCase = { recv: Chan<unknown> } | { send: Chan<unknown>; value: unknown };

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
  select(cases: WireCase[], options: SelectOptions): Promise<Selected>;
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
export class Chan<T> {
  /** @internal made by a cluster, or by a runner decoding a channel it was given */
  declare private readonly [kOps]: ChanOps;

  constructor(readonly id: string, readonly capacity: number, ops: ChanOps) {
    Object.defineProperty(this, kOps, { value: ops, enumerable: false });
  }

  /** Resolves when the value is in the buffer or with a receiver; blocks while the buffer is full. */
  send(value: T, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this[kOps].send(this.id, value, options.signal);
  }

  /** The next value, or `{ done: true }` once the channel is closed and drained. */
  recv(options: { signal?: AbortSignal } = {}): Promise<RecvResult<T>> {
    return this[kOps].recv(this.id, options.signal) as Promise<RecvResult<T>>;
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

/**
 * Go's `select`: waits until one of the cases can proceed and runs exactly that one,
 * choosing uniformly among those ready at once. All channels must come from one cluster.
 */
export function select(cases: readonly SelectCase[], options: SelectOptions = {}): Promise<Selected> {
  if (cases.length === 0 && options.default !== true) return Promise.reject(new TypeError("select needs at least one case (or default)"));
  let ops: ChanOps | undefined;
  const wire: WireCase[] = cases.map((c, i) => {
    const ch = "recv" in c ? c.recv : c.send;
    const o = opsOf(ch);
    if (o === undefined) throw new TypeError(`select case ${i} has no channel`);
    if (ops !== undefined && o !== ops) throw new TypeError("select over channels of different clusters");
    ops = o;
    return "recv" in c ? { op: "recv", chan: ch.id } : { op: "send", chan: ch.id, value: c.value };
  });
  if (ops === undefined) return Promise.resolve({ index: -1 });
  return ops.select(wire, options);
}
