import { open } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { epochMicros } from "../../../protocol/activity.ts";
import type { CallObserver } from "../../calls/call.ts";
import type { SpanChunksListener } from "../runner-watch.ts";
import { TraceRecorder } from "./recorder.ts";
import type { TraceRunner } from "./trace-data.ts";
import { traceEvents, type TraceFile } from "./trace-events.ts";

export interface TraceOptions {
  /** How often runners send what they recorded while the trace runs (default 200 ms). */
  intervalMs?: number;
  /** Keep other drivers' calls on these runners too (default: only this cluster's). */
  allDrivers?: boolean;
  /** Bounds on what is kept in memory (defaults 500,000 calls, 1,000,000 runner spans); beyond, counted as dropped. */
  maxCalls?: number;
  maxSpans?: number;
}

export interface TraceSummary {
  /** Where it was written (undefined: not written; see `trace`). */
  file: string | undefined;
  /** Calls of this driver in the trace, runner spans, flow arrows, and all events. */
  calls: number;
  runnerSpans: number;
  flows: number;
  events: number;
  durationMs: number;
  /** Left out: calls and spans over the bounds, spans runners dropped, runners that did not answer the final flush. */
  dropped: { calls: number; spans: number; runnerSpans: number; unflushed: string[] };
  /** Each runner's clock against the driver's, as the trace corrected it. */
  runners: { address: string; clockOffsetMs: number; clockRttMs: number | null }[];
  /** The Trace Event JSON itself. */
  trace: TraceFile;
}

/** What a trace needs of its cluster. */
export interface TraceHost {
  observe(o: CallObserver): () => void;
  /** Hears the runners' spans, undecoded, every `intervalMs`. */
  watchSpans(l: SpanChunksListener, intervalMs: number): () => void;
  /** Every runner sends what it holds now; resolves with those that did not answer. */
  flush(): Promise<string[]>;
  /** Compares clocks with every runner again (a few round trips each; the best sample stays). */
  measureClocks(): Promise<void>;
  runners(): TraceRunner[];
  /** This driver's id prefix (its spans on the runners carry it). */
  prefix: string;
}

const DEFAULT_INTERVAL_MS = 200;

interface Running {
  recorder: TraceRecorder;
  origin: number;
  stop: () => void;
}

/**
 * `cluster.trace`: records what the cluster does between `start()` and `stop()` and writes
 * it as Chrome Trace Event JSON for Perfetto (docs/observability.md#traces). One trace at a
 * time per cluster.
 */
export class ClusterTrace {
  private running: Running | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly host: TraceHost) {}

  get active(): boolean {
    return this.running !== undefined;
  }

  /**
   * Starts recording: every call of this cluster from now on, and what its runners do for it.
   * Resolves once every runner records (a call sent after it is surely in the trace).
   */
  async start(options: TraceOptions = {}): Promise<void> {
    if (this.running !== undefined) throw new Error("a trace is already running on this cluster: stop it first");
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    const recorder = new TraceRecorder({ prefix: this.host.prefix, allDrivers: options.allDrivers, maxCalls: options.maxCalls, maxSpans: options.maxSpans });
    const origin = epochMicros();
    const stopWatch = this.host.watchSpans(recorder.heard, intervalMs);
    const stopObserve = this.host.observe(recorder);
    this.running = { recorder, origin, stop: () => { stopObserve(); stopWatch(); } };
    // The runners have read the Watch (and record) once they answer a flush sent after it.
    await (this.starting = Promise.all([this.host.flush(), this.host.measureClocks()]).then(() => {}));
  }

  /**
   * Stops recording, gathers what the runners still hold, and builds the trace; with `file`,
   * writes it there (JSON). Every call settled before this is in it.
   */
  async stop(file?: string): Promise<TraceSummary> {
    const r = this.running;
    if (r === undefined) throw new Error("no trace is running on this cluster");
    await this.starting;
    const [unflushed] = await Promise.all([this.host.flush(), this.host.measureClocks()]);
    const end = epochMicros();
    r.stop();
    this.running = undefined;
    const { recorder } = r;
    const spans = recorder.spans();
    const dropped = { calls: recorder.droppedCalls, spans: recorder.droppedSpans, runnerSpans: recorder.runnerDropped, unflushed };
    const trace = traceEvents({
      origin: r.origin, end, driver: { pid: process.pid, hostname: os.hostname(), prefix: this.host.prefix },
      calls: recorder.calls(), runners: this.host.runners(), spans, dropped,
    });
    if (file !== undefined) await writeTrace(file, trace);
    let runnerSpans = 0;
    for (const s of spans.values()) runnerSpans += s.length;
    return {
      file, calls: recorder.callCount, runnerSpans, flows: trace.traceEvents.filter((e) => e.ph === "s").length, events: trace.traceEvents.length,
      durationMs: (end - r.origin) / 1000, dropped,
      runners: (trace.otherData.runners as { address: string; clockOffsetMs: number; clockRttMs: number | null }[]).map(({ address, clockOffsetMs, clockRttMs }) => ({ address, clockOffsetMs, clockRttMs })),
      trace,
    };
  }
}

/** Writes a trace as JSON, events in chunks: a big trace is larger than one string may be. */
export async function writeTrace(file: string, trace: TraceFile): Promise<void> {
  const { traceEvents: events, ...rest } = trace;
  const h = await open(file, "w");
  try {
    await h.write('{"traceEvents":[\n');
    const CHUNK = 10_000;
    for (let i = 0; i < events.length; i += CHUNK) {
      const part = events.slice(i, i + CHUNK).map((e) => JSON.stringify(e)).join(",\n");
      await h.write(i === 0 ? part : `,\n${part}`);
    }
    const tail = JSON.stringify(rest);
    await h.write(`\n],${tail.slice(1)}\n`);
  } finally {
    await h.close();
  }
}

let autoTraces = 0;

/**
 * STRAND_TRACE=file (what `strand run --trace file` sets for its script): every cluster this
 * process makes traces itself from its start and writes the file as it closes. A second
 * cluster writes file-2.json, a third file-3.json, and so on.
 */
export function traceFileFromEnv(): string | undefined {
  const file = process.env.STRAND_TRACE;
  if (file === undefined || file === "") return undefined;
  const n = ++autoTraces;
  if (n === 1) return path.resolve(file);
  const ext = path.extname(file);
  return path.resolve(`${file.slice(0, file.length - ext.length)}-${n}${ext || ".json"}`);
}
