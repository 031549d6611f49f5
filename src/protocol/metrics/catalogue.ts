// Every metric Strand exports, in one place: the runner and the driver write their samples
// against these specs, the Grafana dashboard's test checks its queries against them, and
// docs/observability.md describes them. Names follow Prometheus's conventions: a `strand_`
// prefix, base units (seconds, bytes), `_total` on counters, and no unbounded label values
// (no call ids; function names are capped per process, see MAX_FUNCTIONS).

export type MetricKind = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricKind;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histograms: the upper bounds of the buckets (+Inf is implied). */
  readonly buckets?: readonly number[];
}

/** Call durations and waits, in seconds: 50 µs (a no-op on a lane) to 5 minutes. */
export const SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;
/** Calls per task handed to a runner thread (the executor batches at most 256). */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;

/**
 * Distinct function names one process labels its call metrics with; calls of any further
 * function are counted under `function="other"`. Names are bounded per module anyway; this
 * bounds a runner that serves many modules over months.
 */
export const MAX_FUNCTIONS = 64;
/** The function label value calls beyond MAX_FUNCTIONS are counted under. */
export const OTHER = "other";
/** Distinct actor classes one process labels its actor gauges with; further classes share "other". */
export const MAX_CLASSES = 64;

const counter = (name: string, help: string, labels: readonly string[] = []): MetricSpec => ({ name, type: "counter", help, labels });
const gauge = (name: string, help: string, labels: readonly string[] = []): MetricSpec => ({ name, type: "gauge", help, labels });
const histogram = (name: string, help: string, buckets: readonly number[], labels: readonly string[] = []): MetricSpec => ({ name, type: "histogram", help, labels, buckets });

/** The four metrics of calls by function, as a runner's threads or a driver count them. */
export interface CallSpecs {
  started: MetricSpec;
  finished: MetricSpec;
  failed: MetricSpec;
  duration: MetricSpec;
}

export const RUNNER = {
  calls: {
    started: counter("strand_runner_calls_started_total", "Calls this runner's threads started, by function.", ["function"]),
    finished: counter("strand_runner_calls_finished_total", "Calls this runner's threads finished (succeeded or failed), by function.", ["function"]),
    failed: counter("strand_runner_calls_failed_total", "Calls this runner's threads finished with an error, by function and error code.", ["function", "code"]),
    duration: histogram("strand_runner_call_duration_seconds", "Run time of a call on a runner thread (decode, run, encode), by function.", SECONDS_BUCKETS, ["function"]),
  } satisfies CallSpecs,
  inFlight: gauge("strand_runner_calls_in_flight", "Calls on this runner not answered yet: queued in the executor, or running."),
  goroutines: gauge("strand_runner_goroutines", "Goroutines (calls holding channels, SPMD ranks) running on this runner now, blocked or not."),
  queueWait: histogram("strand_runner_queue_wait_seconds", "Main-connection calls: time from reaching the executor to being handed to a thread (lane calls do not queue).", SECONDS_BUCKETS),
  batchSize: histogram("strand_runner_batch_size", "Calls per task the executor hands a thread.", BATCH_BUCKETS),
  threads: gauge("strand_runner_threads", "Worker threads of this runner."),
  sessions: gauge("strand_runner_sessions", "Connections on the main port after the handshake, by peer kind (driver, runner).", ["peer"]),
  bytesReceived: counter("strand_runner_bytes_received_total", "Bytes received, by peer kind: driver (main port and lanes), runner (object fetches both ways), rank (SPMD ranks on other runners).", ["peer"]),
  bytesSent: counter("strand_runner_bytes_sent_total", "Bytes sent, by peer kind: driver (main port and lanes), runner (object fetches both ways), rank (SPMD ranks on other runners).", ["peer"]),
  storeBytes: gauge("strand_runner_object_store_bytes", "Bytes of objects in the object store."),
  storeObjects: gauge("strand_runner_object_store_objects", "Objects in the object store."),
  storeBudget: gauge("strand_runner_object_store_budget_bytes", "The object store's budget (--object-memory)."),
  storeRefusals: counter("strand_runner_object_store_refusals_total", "Objects refused because the store could not make room (ObjectStoreFullError): bigger than the budget, or spilling failed."),
  spilledObjects: gauge("strand_runner_object_store_spilled_objects", "Objects of the store only on disk now (spilled over the budget, not read back since)."),
  spilledBytes: gauge("strand_runner_object_store_spilled_bytes", "Bytes of the objects only on disk now."),
  spills: counter("strand_runner_object_spills_total", "Objects written to the spill directory (an object read back and evicted again is not written again)."),
  spillBytes: counter("strand_runner_object_spilled_bytes_total", "Bytes of objects written to the spill directory."),
  spillBatches: counter("strand_runner_object_spill_batches_total", "Batch files written to the spill directory (one writev each)."),
  restores: counter("strand_runner_object_restores_total", "Spilled objects read back from disk (a get, a call's input, a fetch by another runner)."),
  restoredBytes: counter("strand_runner_object_restored_bytes_total", "Bytes of spilled objects read back from disk."),
  fetches: counter("strand_runner_object_fetches_total", "Objects this runner fetched from other runners."),
  fetchedBytes: counter("strand_runner_object_fetched_bytes_total", "Bytes of objects this runner fetched from other runners."),
  served: counter("strand_runner_objects_served_total", "Objects this runner served to drivers and other runners."),
  channelOps: counter("strand_runner_channel_ops_total", "Channel operations made by code on this runner's threads, by operation (send, recv, select, close).", ["op"]),
  channelOpsRelayed: counter("strand_runner_channel_ops_relayed_total", "Channel operations this runner's main thread relayed to a channel's home (threads without a lane to it)."),
  collectiveDuration: histogram("strand_runner_collective_duration_seconds", "Duration of an SPMD collective on one rank, by operation.", SECONDS_BUCKETS, ["op"]),
  workerRestarts: counter("strand_runner_worker_restarts_total", "Worker threads that died (a crash, or stopped to cancel a call) and were replaced."),
  codeFetches: counter("strand_runner_code_fetches_total", "Module bundles fetched from drivers."),
  codeBytes: counter("strand_runner_code_fetched_bytes_total", "Bytes of module bundles fetched from drivers."),
  moduleLoads: counter("strand_runner_module_loads_total", "Module imports by worker threads (once per module per thread)."),
  wasmCompiles: counter("strand_runner_wasm_compiles_total", "WebAssembly modules compiled (once per content hash and memory limit, for all threads)."),
  actors: gauge("strand_runner_actors", "Actors living on this runner, by class.", ["class"]),
  actorMailbox: gauge("strand_runner_actor_mailbox_depth", "Calls waiting in the mailboxes of this runner's actors (not running yet), by class.", ["class"]),
  actorCallsRunning: gauge("strand_runner_actor_calls_running", "Actor method calls running on this runner now (an async one while it awaits), by class.", ["class"]),
} as const;

export const DRIVER = {
  calls: {
    started: counter("strand_driver_calls_started_total", "Calls this driver made, by function.", ["function"]),
    finished: counter("strand_driver_calls_finished_total", "Calls this driver's callers saw settle (resolved or rejected), by function.", ["function"]),
    failed: counter("strand_driver_calls_failed_total", "Calls that settled with an error, by function and error code.", ["function", "code"]),
    duration: histogram("strand_driver_call_duration_seconds", "Time from making a call to its settling (waits, sends, run, resends), by function.", SECONDS_BUCKETS, ["function"]),
  } satisfies CallSpecs,
  queueWait: histogram("strand_driver_call_queue_wait_seconds", "Time from making a call to its first send: waiting for inputs and for room on a runner.", SECONDS_BUCKETS),
  inFlight: gauge("strand_driver_calls_in_flight", "Calls made and not settled yet."),
  queued: gauge("strand_driver_calls_queued", "Calls waiting for room on a runner (the scheduler's queue)."),
  resent: counter("strand_driver_calls_resent_total", "Sends repeated after a runner, a thread connection or an input was lost."),
  runners: gauge("strand_driver_runners", "Runners of the cluster, by state (alive, lost).", ["state"]),
  runnersLost: counter("strand_driver_runners_lost_total", "Times a runner was lost."),
  runnersJoined: counter("strand_driver_runners_joined_total", "Runners that joined: lost ones back, and new ones from the head."),
  bytesSent: counter("strand_driver_bytes_sent_total", "Bytes sent to runners (main connections and lanes)."),
  bytesReceived: counter("strand_driver_bytes_received_total", "Bytes received from runners (main connections and lanes)."),
  codeBytes: counter("strand_driver_code_sent_bytes_total", "Bytes of module bundles sent to runners."),
  objects: gauge("strand_driver_objects", "Objects this driver owns that are not freed yet."),
  objectBytes: counter("strand_driver_object_bytes_total", "Bytes of the objects this driver made (put, broadcast, kept results)."),
  channels: gauge("strand_driver_channels", "Channels homed in this driver."),
  jobsStarted: counter("strand_driver_spmd_jobs_started_total", "SPMD jobs started."),
  jobsFailed: counter("strand_driver_spmd_jobs_failed_total", "SPMD jobs that failed (a rank failed, the job was aborted)."),
  jobDuration: histogram("strand_driver_spmd_job_duration_seconds", "Duration of a finished SPMD job, from start to its last rank settling.", SECONDS_BUCKETS),
  actors: gauge("strand_driver_actors", "Actors this driver spawned or holds handles to, by state (starting, alive, restarting).", ["state"]),
  actorRestarts: counter("strand_driver_actor_restarts_total", "Times an actor this driver spawned was started again after its runner or thread was lost."),
} as const;

/** Every spec of a catalogue object (nested call specs included). */
export function specsOf(catalogue: object): MetricSpec[] {
  const out: MetricSpec[] = [];
  for (const v of Object.values(catalogue) as unknown[]) {
    if (typeof v !== "object" || v === null) continue;
    if ("name" in v && "type" in v) out.push(v as MetricSpec);
    else out.push(...specsOf(v));
  }
  return out;
}

/** The series names a spec gives in the exposition (a histogram's _bucket, _sum and _count). */
export function seriesNames(spec: MetricSpec): string[] {
  return spec.type === "histogram" ? [`${spec.name}_bucket`, `${spec.name}_sum`, `${spec.name}_count`] : [spec.name];
}
