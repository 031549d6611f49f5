import type { OutputRoute } from "./call-output.ts";

// A call as the code that runs it on a worker thread sees it, and what it comes to: the
// same whether it came in a batch from the main thread (batch.ts) or down a lane (lane.ts).

export interface CallTask {
  id: number;
  /** Absolute path of the cached bundle (named by its hash). */
  modulePath: string;
  exportName: string;
  /** Encoded argument array: msgpack body, then attachments. */
  segments: Uint8Array[];
  /**
   * A batched call's (T.Calls): the frame's bodies, the body of `segments` at `argsAt` among
   * them, read in place (msgpackr hangs a DataView on every buffer it reads: one per frame,
   * not one per call).
   */
  argsIn?: Uint8Array | undefined;
  argsAt?: number | undefined;
  /** The stored objects that Refs in the arguments stand for. */
  deps?: ObjectDeps;
  /** The caller may cancel it: the function gets a context whose signal can abort. */
  cancellable?: boolean;
  /** Where what it prints goes (call-output.ts); absent: the runner's own stdout. Set on the worker thread. */
  out?: OutputRoute;
  /** Its driver asked for no remote logs (T.Owner): the worker sets no `out`. */
  quiet?: boolean;
  /** The id prefix of the driver whose call it is (T.Owner): where `go()` inside it sends goroutines. */
  driver?: string;
  /**
   * An actor's call: aborts when its caller gives up (T.Cancel on the lane). Not started yet, it
   * leaves the mailbox; running, its `context().signal` aborts (the thread is never stopped).
   */
  signal?: AbortSignal;
  /**
   * Its result leaves this thread as a copy (a lane's answers are copied into their batch or
   * the connection's outbox, a kept one into shared memory): a small body may be encoded into
   * a slab shared with other results (call-runner.ts). Not for outcomes posted to another
   * thread as they are (a goroutine's): cloning a view clones its whole buffer.
   */
  slabResult?: boolean;
}

/** Object id and its encoded value (body, then attachments), for each Ref in a call's arguments. */
export type ObjectDeps = [string, Uint8Array[]][];

export interface CallOutcome {
  id: number;
  ok: boolean;
  /** Encoded result (ok) or error (not ok). */
  segments: Uint8Array[];
  execMicros: number;
  /** When it started, µs since the epoch (absent: it never started), and on which thread. */
  startedAt?: number;
  thread?: number;
  /** A kept result small enough to go back to the driver instead of into the store. */
  inline?: boolean;
  /** Turned away unrun (the runner is stopping): the driver may send it elsewhere. */
  notStarted?: boolean;
  /**
   * Buffers of thread `thread`'s pool that hold its segments (runner/snapshot-pool.ts): given
   * back once the segments are written, and never if they are kept anywhere (the store).
   */
  lent?: SharedArrayBuffer[];
}
