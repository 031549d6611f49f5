import type { Span } from "../../../protocol/activity.ts";

// What a trace records while it runs (recorder.ts), and all the writer (trace-events.ts)
// needs to turn it into Trace Event JSON: plain data, every time in microseconds since the
// epoch, each on the clock of the host that measured it.

/** One send of a call to a runner (a call lost with its runner is sent again: two attempts). */
export interface TraceAttempt {
  /** The runner, host:port as the cluster names it. */
  runner: string;
  /** The call's wire id on that runner's link (the runner's spans name it so). */
  id: number;
  /** The runner thread's lane it went down (undefined: the main link). */
  lanePort: number | undefined;
  /** When it was sent (driver clock). */
  sent: number;
}

/** A call of this driver, as the driver saw it. */
export interface TraceCall {
  /** Its number among the cluster's calls (from 1). */
  seq: number;
  /** The exported function, and how errors name it (an SPMD rank's says its rank). */
  name: string;
  label: string;
  rank: number | undefined;
  /** Made (driver clock). */
  submitted: number;
  /** Settled (driver clock); undefined: still running when the trace stopped. */
  settled: number | undefined;
  ok: boolean;
  error: string | undefined;
  attempts: TraceAttempt[];
  /** Bytes of its encoded arguments. */
  argBytes: number;
  /** The objects (Refs) it read, by object id, and the one it made (an `f.ref` call). */
  deps: string[];
  keep: string | undefined;
}

/** A runner as the trace names it, with its clock against the driver's. */
export interface TraceRunner {
  address: string;
  hostname: string;
  pid: number;
  threads: number;
  /** Its clock minus the driver's, µs (measured at the handshake; 0 if it was not). */
  offsetMicros: number;
  /** The round trip of that measurement: the offset is good to about half of it. */
  rttMicros: number | undefined;
}


export interface TraceData {
  /** When the trace started and stopped (driver clock): ts 0 is the start. */
  origin: number;
  end: number;
  driver: { pid: number; hostname: string; prefix: string };
  calls: TraceCall[];
  runners: TraceRunner[];
  /** The spans each runner reported, by its address (runner clock). */
  spans: ReadonlyMap<string, readonly Span[]>;
  /** What was left out: calls and spans over the recorder's bounds, spans the runners dropped, runners that did not answer the final flush. */
  dropped: { calls: number; spans: number; runnerSpans: number; unflushed: string[] };
}
