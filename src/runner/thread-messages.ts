import { BroadcastChannel } from "node:worker_threads";
import type { ActorStat, ChanRequest, RunnerInfo } from "../protocol/messages.ts";
import type { CallsSnapshot, CountsSnapshot, HistogramsSnapshot } from "../protocol/metrics/tally.ts";
import type { TlsPem } from "../transport/secure.ts";
import type { BindMode } from "./spmd/binding.ts";
import type { ObjectDeps } from "./task.ts";

// Everything that crosses between a runner's main thread and its worker threads: what a
// thread starts with (piscina's workerData), the batches of calls piscina hands it and the
// outcomes it hands back, and the messages on the runner's channel of threads.

/** What piscina starts each worker thread with. */
export interface WorkerData {
  /** Absent: the thread serves no lane (a pool made without one, in tests). */
  lane?: LaneConfig;
}

/**
 * What a worker thread needs to serve its own connections ("lanes"): drivers call a
 * thread directly, so a call wakes two threads (driver, worker) instead of four.
 */
export interface LaneConfig {
  host: string;
  /** The host others dial this runner's lanes at (its advertised host): names the channels its threads make. */
  advertiseHost?: string;
  token: string | undefined;
  /** The runner's TLS material, as PEM text: each thread prepares it once (undefined: plain TCP). */
  tls: TlsPem | undefined;
  cacheDir: string;
  maxFrame: number;
  /** Connections one thread's lane server accepts at once (one per driver is the norm). */
  maxConnections: number;
  /** Name of the runner's channel of threads (unique per runner): see ThreadChannel. */
  channel: string;
  /** Int32 counters shared by the threads: see LANE_COUNTER. */
  counters: SharedArrayBuffer;
  info: RunnerInfo;
  /** The runner serves metrics: the thread counts its calls (runner/metrics/thread-metrics.ts). */
  metrics?: boolean;
  /** Goroutines this runner runs at once, at most (`--max-goroutines`; absent: no limit but memory). */
  maxGoroutines?: number;
  /** An actor thread (runner/actors/actor-threads.ts): it hosts actors and takes no stateless calls. */
  actors?: boolean;
  /** SPMD rank threads bound to CPUs (`--bind`, default core). */
  bind?: BindMode;
}

/** Where each count of lane calls sits in LaneConfig.counters: the main thread adds them to its stats. */
export const LANE_COUNTER = { calls: 0, failures: 1, inFlight: 2, loads: 3, watching: 4, goroutines: 5 } as const;
export const LANE_COUNTERS = 6;

// --- Piscina's task and its result: a batch of calls, and their outcomes (packed by batch.ts).

/** The byte arrays of many items in one arena, so that a batch crosses as one message. */
export interface PackedSegments {
  arena: Uint8Array;
  /** Per segment: offset in the arena, or -1 - index into `own`. */
  offsets: number[];
  lengths: number[];
  /** Per item: how many segments it has. */
  counts: number[];
  own: Uint8Array[];
  /**
   * Indices into `own` of copies in the sending worker's pool (runner/snapshot-pool.ts): the
   * main thread sends their buffers back (ReturnBuffers) once it has written them.
   */
  lent?: number[];
}

/** main -> worker (a piscina task): calls to run, in order. */
export interface TaskBatch extends PackedSegments {
  ids: number[];
  paths: string[];
  names: string[];
  /** Per task, the stored objects its arguments refer to (shared memory, so not copied). */
  deps: (ObjectDeps | null)[];
  /** A lone cancellable call (see CallTask.cancellable). */
  cancellable: boolean;
  /** Per task, whether its driver asked for no remote logs (absent: none did). */
  quiet?: boolean[];
  /** Per task, its driver's id prefix (absent: none known). */
  drivers?: (string | null)[];
}

/** worker -> main (the piscina task's result): the outcomes of a TaskBatch, in its order. */
export interface OutcomeBatch extends PackedSegments {
  ids: number[];
  ok: boolean[];
  micros: number[];
  /** When each call started (µs since the epoch), and the thread that ran them. */
  starts: number[];
  thread: number;
  /** Modules the worker imported for the first time during the batch. */
  loads: number;
  /**
   * How many CallOutput messages the thread had posted when the batch ended (absent: none
   * ever): the outcomes wait for them, so that a call's lines reach its driver first.
   */
  output?: number;
}

/**
 * worker -> main, by the thread's own port (piscina's "message" event), not the channel of
 * threads: the lines batched calls printed, each as [executor job id, function, stream,
 * lines], to be sent to their drivers. `seq` counts this thread's messages (see OutcomeBatch).
 */
export interface CallOutput { kind: "call-output"; thread: number; seq: number; lines: [job: number, fn: string, stream: number, lines: string[]][] }

// --- The runner's channel of threads. Requests carry the asking thread's id and a request
// number of its own; the answer names both, since every thread hears every answer.

/** worker -> main: this thread's lane listens on `port`. */
export interface LaneListening { kind: "lane-listening"; threadId: number; port: number }

/** worker -> main: this thread listens on its goroutine channel (goroutineChannelName): send it goroutines. */
export interface GoroutinesReady { kind: "goroutines-ready"; threadId: number }

/**
 * actor thread -> main: how many actors it hosts now (spawns go to the thread with the fewest),
 * and which came and went since it last said (the main thread keeps the runner's actor names).
 */
export interface ActorCount { kind: "actor-count"; threadId: number; count: number; born: string[]; gone: string[] }

/** main -> actor threads: report your actors (runner stats); each answers with an ActorReport. */
export interface ActorStatsRequest { kind: "actor-stats-request"; request: number }

/** actor thread -> main: the answer to ActorStatsRequest. */
export interface ActorReport { kind: "actor-report"; threadId: number; request: number; actors: ActorStat[] }

/** worker -> main: this draining thread's lane has nothing left in flight. */
export interface LaneDrained { kind: "lane-drained"; threadId: number }

/**
 * worker -> main: keep this value in the runner's object store (a lane call's kept result, or
 * a big channel value), owned by the driver whose id prefix `objectId` carries. The segments
 * are in shared memory. Answered by ObjectStored.
 */
export interface StoreObject { kind: "store-object"; threadId: number; request: number; objectId: string; segments: Uint8Array[] }

/**
 * worker -> main -> the channel's home driver: a channel operation (see chan-relay.ts).
 * `pointers`: indices of values already in this runner's store (by StoreObject), sent as
 * their object id only. Answered by ChanAnswer.
 */
export interface RelayChanOp { kind: "relay-chan-op"; threadId: number; request: number; req: ChanRequest; values: Uint8Array[][]; pointers: number[] }

/**
 * worker -> main -> the driver whose id prefix is `driver`: a T.Go frame (`go()` in a remote
 * function) from a thread with no lane to that driver, for the main connection.
 */
export interface RelayGo { kind: "relay-go"; threadId: number; driver: string; frame: Uint8Array[] }

/** worker -> main: a relayed channel operation is no longer wanted (its signal fired). */
export interface WithdrawChanOp { kind: "withdraw-chan-op"; threadId: number; request: number }

/** worker -> main: fetch a big channel value from where it waits (`pointer`: [objectId, runner or null for this one]). Answered by ChanAnswer. */
export interface TakeChanValue { kind: "take-chan-value"; threadId: number; request: number; pointer: [string, string | null] }

/**
 * worker -> main: spans of the calls this thread ran, for watching drivers (see
 * activity/thread-spans.ts). `flush`: the answer to FlushSpans with that number.
 */
export interface ThreadSpansMessage { kind: "spans"; threadId: number; json: string; count: number; dropped: number; flush?: number | undefined }

/** main -> workers: hand over your spans now, even none (a watching driver's trace is stopping). */
export interface FlushSpans { kind: "flush-spans"; request: number }

/** main -> workers: accept no new lane calls, finish, then close. */
export interface DrainLanes { kind: "drain-lanes" }

/** main -> workers: the caller gave up on executor job `job`; its context's signal aborts. */
export interface AbortCall { kind: "abort-call"; job: number; reason: string }
/** The object store let go of a batch of big buffers: views of them that calls were given die with the threads' next collection (runner/gc-hint.ts). */
export interface CollectGarbage { kind: "collect-garbage" }

/** main -> worker: the answer to StoreObject: stored (`bytes`), or not (`error`, encoded). */
export interface ObjectStored { kind: "object-stored"; threadId: number; request: number; bytes: number; error?: Uint8Array[] }

/** main -> worker: the answer to RelayChanOp or TakeChanValue. */
export interface ChanAnswer { kind: "chan-answer"; threadId: number; request: number; ok: boolean; index: number; done: boolean; segments: Uint8Array[] }

/**
 * main -> the worker `threadId`: buffers of its pool that held results of the main link's
 * calls (OutcomeBatch.lent), written to their sockets: the worker may reuse them.
 */
export interface ReturnBuffers { kind: "return-buffers"; threadId: number; buffers: SharedArrayBuffer[] }

/** main -> workers: a scrape is under way; each thread answers with a MetricsReport. */
export interface MetricsRequest { kind: "metrics-request"; request: number }

/** What one thread counted since it started (runner/metrics/thread-metrics.ts). */
export interface ThreadMetricsSnapshot {
  calls: CallsSnapshot;
  /** Channel operations by kind. */
  chanOps: CountsSnapshot;
  /** Collective durations by operation. */
  collectives: HistogramsSnapshot;
  /** Bytes over this thread's connections (lanes: driver; ranks: rank), by peer kind. */
  received: CountsSnapshot;
  sent: CountsSnapshot;
}

/** worker -> main: the answer to MetricsRequest. */
export interface MetricsReport { kind: "metrics-report"; threadId: number; request: number; snapshot: ThreadMetricsSnapshot }

export type ToMainThread = LaneListening | GoroutinesReady | LaneDrained | StoreObject | RelayChanOp | WithdrawChanOp | TakeChanValue | ThreadSpansMessage | MetricsReport | RelayGo | ActorCount | ActorReport;
export type ToWorkerThreads = DrainLanes | AbortCall | CollectGarbage | ObjectStored | ChanAnswer | MetricsRequest | FlushSpans | ActorStatsRequest | ReturnBuffers;
export type ThreadMessage = ToMainThread | ToWorkerThreads;

// --- A thread's goroutine channel: goroutines that came over the main link go to one thread,
// and their outcomes come back (runner/goroutines/dispatch.ts, runner/goroutines/on-thread.ts).

/**
 * Piscina hands a task to whichever thread is free and caps the tasks a thread runs at once;
 * a goroutine may block for ever, so none may be a task. Piscina offers no way to hand one
 * given thread a MessagePort either, so each thread and the main thread meet on a
 * BroadcastChannel of that thread's own: with only those two handles on it, it is a
 * point-to-point pipe, in order, and SharedArrayBuffers cross it unscathed.
 */
export const goroutineChannelName = (name: string, threadId: number): string => `${name}:t${threadId}`;

/** main -> worker: run these goroutines (those of one tick, packed as piscina's tasks are). */
export interface StartGoroutine { kind: "go"; task: TaskBatch }

/** worker -> main: goroutines ended (those of one tick; `output` orders them after their lines). */
export interface GoroutineEnded { kind: "goroutine-ended"; outcome: OutcomeBatch }

/**
 * Threads hand their spans to the main thread on a channel of their own (`<name>:spans`), which
 * only the main thread listens on: on the channel of threads every handle (three per worker
 * thread) would receive, and copy, every batch. A worker posts through a handle it opens and
 * closes at once (postSpans), so that no worker receives another's.
 */
export const spansChannelName = (name: string): string => `${name}:spans`;

export function postSpans(name: string, m: ThreadSpansMessage): void {
  const bc = new BroadcastChannel(spansChannelName(name));
  bc.postMessage(m);
  bc.close();
}

/**
 * One side's handle on the runner's channel of threads (a BroadcastChannel): what it may
 * post, and what it hears. Every other member hears a message, so a worker thread also
 * hears the other workers' requests, and ignores them.
 */
export class ThreadChannel<Posts extends ThreadMessage, Hears extends ThreadMessage> {
  private readonly channel: BroadcastChannel;

  private constructor(name: string) {
    this.channel = new BroadcastChannel(name);
    this.channel.unref(); // it must not keep a thread or the runner alive
  }

  /** The main thread's side: it posts to the workers and hears their requests. */
  static main(name: string): ThreadChannel<ToWorkerThreads, ToMainThread> {
    return new ThreadChannel(name);
  }

  /** A worker thread's side: it posts requests and hears everything. */
  static worker(name: string): ThreadChannel<ToMainThread, ThreadMessage> {
    return new ThreadChannel(name);
  }

  post(m: Posts): void {
    this.channel.postMessage(m);
  }

  /** Sets the one listener of this handle. */
  listen(listener: (m: Hears) => void): void {
    this.channel.onmessage = (ev: unknown) => listener((ev as { data: Hears }).data);
  }

  close(): void {
    this.channel.close();
  }
}
