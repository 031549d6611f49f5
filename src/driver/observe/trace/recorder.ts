import { decodeSpans, epochMicros, fromTuple, type Span } from "../../../protocol/activity.ts";
import type { CallObserver, PendingCall } from "../../calls/call.ts";
import type { TraceAttempt, TraceCall } from "./trace-data.ts";

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

/** A call with no row yet (-1: one over the bound). */
const UNKNOWN = -2;

/** Driver time (performance.now(), ms) to microseconds since the epoch, as the handshake measured clocks. */
const micros = (t: number): number => epochMicros(t);

/**
 * Collects a trace in memory: every call of this driver (an observer: made, sent, settled) and
 * the spans its runners report (a watch listener). It runs on the call path, so a call costs a
 * few writes into typed columns, not objects: a trace of 100,000 calls would otherwise keep
 * half a million small objects alive for the garbage collector to copy. Arguments and results
 * are never kept. Over the bounds, records are counted, not kept.
 */
export class TraceRecorder implements CallObserver {
  private readonly cols = new Columns();
  /**
   * Each call's row by its number (seq - base: calls are numbered in the order they are
   * made, so the rows of those made while tracing form one dense array), -1 if dropped;
   * the few made before the trace started, in a map.
   */
  private base = -1;
  private rowBySeq = new Int32Array(1024).fill(UNKNOWN);
  private readonly early = new Map<number, number>();
  /** Strings by index (names, labels, runner addresses), and back. */
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  /** What few calls have: errors, objects made and read, sends after the first; by row. */
  private readonly errors = new Map<number, string>();
  private readonly keeps = new Map<number, string>();
  private readonly deps = new Map<number, string[]>();
  private readonly laterSends = new Map<number, TraceAttempt[]>();
  /** The runners' spans as they sent them (JSON, decoded at the end), by runner address. */
  private readonly chunks = new Map<string, Uint8Array[]>();
  /** Spans kept (in the chunks, every driver's). */
  spanCount = 0;
  droppedCalls = 0;
  droppedSpans = 0;
  /** Spans the runners said they dropped (their own bounds). */
  runnerDropped = 0;
  private readonly maxCalls: number;
  private readonly maxSpans: number;

  constructor(private readonly options: RecorderOptions) {
    this.maxCalls = options.maxCalls ?? DEFAULT_MAX_CALLS;
    this.maxSpans = options.maxSpans ?? DEFAULT_MAX_SPANS;
  }

  submitted(call: PendingCall): void {
    if (this.base < 0) this.base = call.seq;
    this.row(call);
  }

  sent(call: PendingCall): void {
    const r = this.row(call);
    if (r < 0 || call.link === undefined) return;
    this.addSend(r, call);
  }

  settled(call: PendingCall, error: Error | undefined): void {
    const r = this.row(call);
    this.early.delete(call.seq);
    if (r < 0) return;
    const c = this.cols;
    c.settled[r] = micros(call.settledAt);
    c.ok[r] = error === undefined ? 1 : 0;
    if (error !== undefined) this.errors.set(r, `${error.name}: ${error.message}`.slice(0, 500));
    // Sent before the trace started: its one known send is the last one.
    if (c.sends[r] === 0 && call.link !== undefined && call.sentAt > 0) this.addSend(r, call);
  }

  /** A runner's spans (a watch listener of undecoded spans): kept as they came, read once the trace stops. */
  heard = (runner: string, count: number, chunks: Uint8Array[], dropped: number): void => {
    this.runnerDropped += dropped;
    if (count === 0) return;
    if (this.spanCount + count > this.maxSpans) {
      this.droppedSpans += count;
      return;
    }
    this.spanCount += count;
    const mine = this.chunks.get(runner);
    if (mine === undefined) this.chunks.set(runner, [...chunks]);
    else mine.push(...chunks);
  };

  /** The spans of this driver (or all, with `allDrivers`), by runner address (runner clock); those that did not decode are counted as dropped. */
  spans(): Map<string, Span[]> {
    const out = new Map<string, Span[]>();
    for (const [runner, chunks] of this.chunks) {
      const { spans, invalid } = decodeSpans(chunks);
      this.droppedSpans += invalid;
      out.set(runner, (this.options.allDrivers ? spans : spans.filter((s) => s[6] === this.options.prefix)).map(fromTuple));
    }
    return out;
  }

  /** The calls recorded, as the writer takes them. */
  calls(): TraceCall[] {
    const c = this.cols;
    const out: TraceCall[] = [];
    for (let r = 0; r < c.length; r++) {
      const attempts: TraceAttempt[] = c.sends[r] === 0 ? [] : [{ runner: this.strings[c.runner[r]!]!, id: c.id[r]!, lanePort: c.lane[r]! < 0 ? undefined : c.lane[r], sent: c.sent[r]! }];
      attempts.push(...(this.laterSends.get(r) ?? []));
      out.push({
        seq: c.seq[r]!, name: this.strings[c.name[r]!]!, label: this.strings[c.label[r]!]!, rank: c.rank[r]! < 0 ? undefined : c.rank[r],
        submitted: c.submitted[r]!, settled: Number.isNaN(c.settled[r]) ? undefined : c.settled[r], ok: c.ok[r] === 1, error: this.errors.get(r),
        attempts, argBytes: c.argBytes[r]!, deps: this.deps.get(r) ?? [], keep: this.keeps.get(r),
      });
    }
    return out;
  }

  get callCount(): number {
    return this.cols.length;
  }

  private addSend(r: number, call: PendingCall): void {
    const c = this.cols;
    const sent = micros(call.sentAt);
    if (c.sends[r]!++ === 0) {
      c.runner[r] = this.intern(call.link!.address, 1);
      c.id[r] = call.id;
      c.lane[r] = call.lanePort ?? -1;
      c.sent[r] = sent;
      return;
    }
    const later = this.laterSends.get(r) ?? [];
    later.push({ runner: call.link!.address, id: call.id, lanePort: call.lanePort, sent });
    this.laterSends.set(r, later);
  }

  /** The row of `call`, made at its first event (a call made before the trace started is recorded from its first event after); -1: over the bound. */
  private row(call: PendingCall): number {
    const known = this.known(call.seq);
    if (known !== UNKNOWN) return known;
    const c = this.cols;
    if (c.length >= this.maxCalls) {
      if (call.submittedAt > 0 && !call.settled) {
        this.remember(call.seq, -1); // counted once
        this.droppedCalls++;
      }
      return -1;
    }
    const r = c.add();
    this.remember(call.seq, r);
    const args = call.args;
    let argBytes = args.body.byteLength;
    for (const a of args.attachments) argBytes += a.byteLength;
    c.seq[r] = call.seq;
    c.name[r] = this.intern(call.exportName);
    // A rank's label adds its rank; an actor's is Class.method (its export name holds the actor's id).
    const label = call.label;
    c.label[r] = label === call.exportName ? c.name[r]! : this.intern(label);
    c.rank[r] = call.rank ?? -1;
    c.submitted[r] = micros(call.submittedAt);
    c.settled[r] = Number.NaN;
    c.argBytes[r] = argBytes;
    if (call.deps.length > 0) this.deps.set(r, call.deps.map((d) => d.id));
    if (call.keep !== undefined) this.keeps.set(r, call.keep.id);
    return r;
  }

  private known(seq: number): number {
    const i = seq - this.base;
    if (this.base >= 0 && i >= 0) return i < this.rowBySeq.length ? this.rowBySeq[i]! : UNKNOWN;
    return this.early.get(seq) ?? UNKNOWN;
  }

  private remember(seq: number, row: number): void {
    const i = seq - this.base;
    if (this.base < 0 || i < 0) {
      this.early.set(seq, row);
      return;
    }
    if (i >= this.rowBySeq.length) {
      const more = new Int32Array(Math.max(i + 1, this.rowBySeq.length * 2)).fill(UNKNOWN);
      more.set(this.rowBySeq);
      this.rowBySeq = more;
    }
    this.rowBySeq[i] = row;
  }

  /** The index of `s`; `slot`: what kind of string, each kind remembering its last (calls mostly repeat a function, a runner). */
  private intern(s: string, slot: 0 | 1 = 0): number {
    if (s === this.lastString[slot]) return this.lastIndex[slot]!;
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.stringIndex.set(s, i);
    }
    this.lastString[slot] = s;
    this.lastIndex[slot] = i;
    return i;
  }

  private readonly lastString: (string | undefined)[] = [undefined, undefined];
  private readonly lastIndex = [0, 0];
}

/** A call's fields in growing typed columns: one row per call. */
class Columns {
  length = 0;
  private capacity = 1024;
  seq = new Float64Array(this.capacity);
  name = new Int32Array(this.capacity);
  label = new Int32Array(this.capacity);
  rank = new Int32Array(this.capacity);
  submitted = new Float64Array(this.capacity);
  settled = new Float64Array(this.capacity);
  ok = new Uint8Array(this.capacity);
  argBytes = new Float64Array(this.capacity);
  /** Sends so far, and the first one's runner, wire id, lane port (-1: main link) and time. */
  sends = new Int32Array(this.capacity);
  runner = new Int32Array(this.capacity);
  id = new Float64Array(this.capacity);
  lane = new Int32Array(this.capacity);
  sent = new Float64Array(this.capacity);

  /** A new row, zeroed. */
  add(): number {
    if (this.length === this.capacity) this.grow();
    return this.length++;
  }

  private grow(): void {
    this.capacity *= 2;
    const more = <A extends Float64Array | Int32Array | Uint8Array>(a: A): A => {
      const b = new (a.constructor as new (n: number) => A)(this.capacity);
      b.set(a);
      return b;
    };
    this.seq = more(this.seq);
    this.name = more(this.name);
    this.label = more(this.label);
    this.rank = more(this.rank);
    this.submitted = more(this.submitted);
    this.settled = more(this.settled);
    this.ok = more(this.ok);
    this.argBytes = more(this.argBytes);
    this.sends = more(this.sends);
    this.runner = more(this.runner);
    this.id = more(this.id);
    this.lane = more(this.lane);
    this.sent = more(this.sent);
  }
}
