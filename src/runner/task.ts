import type { ChanRequest } from "../protocol/messages.ts";
// What crosses between the runner's main thread and its worker threads.

export interface CallTask {
  id: number;
  /** Absolute path of the cached bundle (named by its hash). */
  modulePath: string;
  exportName: string;
  /** Encoded argument array: msgpack body, then attachments. */
  segments: Uint8Array[];
  /** The stored objects that Refs in the arguments stand for. */
  deps?: ObjectDeps;
  /** The caller may cancel it: the function gets a context whose signal can abort. */
  cancellable?: boolean;
}

/** Object id and its encoded value (body, then attachments), for each Ref in a call's arguments. */
export type ObjectDeps = [string, Uint8Array[]][];


export interface CallOutcome {
  id: number;
  ok: boolean;
  /** Encoded result (ok) or error (not ok). */
  segments: Uint8Array[];
  execMicros: number;
  /** A kept result small enough to go back to the driver instead of into the store. */
  inline?: boolean;
  /** Turned away unrun (the runner is stopping): the driver may send it elsewhere. */
  notStarted?: boolean;
}

/**
 * What a worker thread needs to serve its own connections ("lanes"): drivers call a
 * thread directly, so a call wakes two threads (driver, worker) instead of four.
 */
export interface LaneConfig {
  host: string;
  token: string | undefined;
  /** The runner's TLS material, as PEM text: each thread prepares it once (undefined: plain TCP). */
  tls: import("../transport/secure.ts").TlsPem | undefined;
  cacheDir: string;
  maxFrame: number;
  /** Connections one thread's lane server accepts at once (one per driver is the norm). */
  maxConnections: number;
  /** BroadcastChannel name shared by this runner's threads (unique per runner). */
  channel: string;
  /** Int32 counters shared by the threads: see LANE_COUNTER. */
  counters: SharedArrayBuffer;
  info: import("../protocol/messages.ts").RunnerInfo;
}

export const LANE_COUNTER = { calls: 0, failures: 1, inFlight: 2, loads: 3 } as const;
export const LANE_COUNTERS = 4;

/** Messages on a runner's lane channel. */
export type LaneMessage =
  | { kind: "lane"; threadId: number; port: number } // worker -> main: serving on port
  | { kind: "drain" } // main -> workers: accept nothing new, finish, close
  | { kind: "abort"; job: number; reason: string } // main -> workers: the caller gave up on this job
  | { kind: "drained"; threadId: number } // worker -> main: nothing left in flight
  // worker -> main: keep this call result in the object store (segments in shared memory)
  | { kind: "store"; threadId: number; request: number; objectId: string; segments: Uint8Array[] }
  // main -> worker: stored (bytes), or not (the encoded error)
  | { kind: "stored"; threadId: number; request: number; bytes: number; error?: Uint8Array[] }
  // worker -> main -> the channel's home driver, and back (see chan-relay.ts)
  // `pointers`: indices of values already stored in this runner's store (by the thread, see
  // "store"), sent as their object id only
  | { kind: "chan-op"; threadId: number; request: number; req: ChanRequest; values: Uint8Array[][]; pointers: number[] }
  | { kind: "chan-cancel"; threadId: number; request: number }
  // worker -> main: take a big channel value from where it waits (answered by "chan-reply")
  | { kind: "chan-take"; threadId: number; request: number; pointer: [string, string | null] }
  | { kind: "chan-reply"; threadId: number; request: number; ok: boolean; index: number; done: boolean; segments: Uint8Array[] };
