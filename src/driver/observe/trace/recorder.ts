import { epochMicros } from "../../../protocol/activity.ts";
import type { CallObserver, PendingCall } from "../../calls/call.ts";
import type { RunnerActivity } from "../runner-watch.ts";
import type { Span } from "../../../protocol/activity.ts";
import type { TraceCall } from "./trace-data.ts";

export interface RecorderOptions {
  /** This driver's id prefix: runner spans of other drivers are left out (unless `allDrivers`). */
  prefix: string;
  allDrivers?: boolean | undefined;
  /** Bounds: calls and runner spans kept; beyond them they are counted as dropped. */
  maxCalls?: number | undefined;
  maxSpans?: number | undefined;
}

/** Default bounds: about 100 MB of memory at worst, a trace Perfetto still opens. */
export const DEFAULT_MAX_CALLS = 500_000;
export const DEFAULT_MAX_SPANS = 1_000_000;

/** Driver time (performance.now(), ms) to microseconds since the epoch, as the handshake measured clocks. */
const micros = (t: number): number => epochMicros(t);

/**
 * Collects a trace in memory: every call of this driver (an observer: made, sent, settled) and
 * the spans its runners report (a watch listener). Small records only: a call's arguments and
 * result are never kept. Over the bounds, records are counted, not kept.
 */
export class TraceRecorder implements CallObserver {
  readonly calls: TraceCall[] = [];
  /** Spans by runner address (runner clock). */
  readonly spans = new Map<string, Span[]>();
  private spanCount = 0;
  droppedCalls = 0;
  droppedSpans = 0;
  /** Spans the runners said they dropped (their own bounds). */
  runnerDropped = 0;
  private readonly byCall = new WeakMap<PendingCall, TraceCall>();
  /** Calls over the bound, counted once each. */
  private readonly counted = new WeakSet<PendingCall>();
  private readonly maxCalls: number;
  private readonly maxSpans: number;

  constructor(private readonly options: RecorderOptions) {
    this.maxCalls = options.maxCalls ?? DEFAULT_MAX_CALLS;
    this.maxSpans = options.maxSpans ?? DEFAULT_MAX_SPANS;
  }

  submitted(call: PendingCall): void {
    this.record(call);
  }

  sent(call: PendingCall): void {
    const r = this.record(call);
    if (r === undefined || call.link === undefined) return;
    r.attempts.push({ runner: call.link.address, id: call.id, lanePort: call.lanePort, sent: micros(call.sentAt) });
  }

  settled(call: PendingCall, error: Error | undefined): void {
    const r = this.record(call);
    if (r === undefined) return;
    r.settled = micros(call.settledAt);
    r.ok = error === undefined;
    if (error !== undefined) r.error = `${error.name}: ${error.message}`.slice(0, 500);
    // Sent before the trace started: its one known send is the last one.
    if (r.attempts.length === 0 && call.link !== undefined && call.sentAt > 0) {
      r.attempts.push({ runner: call.link.address, id: call.id, lanePort: call.lanePort, sent: micros(call.sentAt) });
    }
  }

  /** A runner's report (a watch listener). */
  heard = (a: RunnerActivity): void => {
    this.runnerDropped += a.dropped;
    if (a.spans.length === 0) return;
    let mine = this.spans.get(a.runner);
    if (mine === undefined) this.spans.set(a.runner, (mine = []));
    for (const s of a.spans) {
      if (!this.options.allDrivers && s.owner !== this.options.prefix) continue;
      if (this.spanCount >= this.maxSpans) {
        this.droppedSpans++;
        continue;
      }
      this.spanCount++;
      mine.push(s);
    }
  };

  /** The record of `call`, made at its first event (a call made before the trace started is recorded from its first event after). */
  private record(call: PendingCall): TraceCall | undefined {
    const known = this.byCall.get(call);
    if (known !== undefined) return known;
    if (this.calls.length >= this.maxCalls) {
      if (call.submittedAt > 0 && !this.counted.has(call)) {
        this.counted.add(call);
        this.droppedCalls++;
      }
      return undefined;
    }
    const args = call.args;
    let argBytes = args.body.byteLength;
    for (const a of args.attachments) argBytes += a.byteLength;
    const r: TraceCall = {
      seq: call.seq, name: call.exportName, label: call.label, rank: call.rank, submitted: micros(call.submittedAt), settled: undefined,
      ok: false, error: undefined, attempts: [], argBytes, deps: call.deps.map((d) => d.id), keep: call.keep?.id,
    };
    this.byCall.set(call, r);
    this.calls.push(r);
    return r;
  }
}
