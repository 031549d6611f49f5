import { MAX_FUNCTIONS, OTHER, SECONDS_BUCKETS } from "./catalogue.ts";

// What counts on the call path: plain numbers in plain objects, a Map lookup and a few
// additions per call (~15 ns, against ~650 ns for the same three updates through
// prom-client's labelled metrics; docs/decisions.md). The exposition is built from
// snapshots of these when Prometheus scrapes (exposition.ts). Snapshots are plain data, so a
// worker thread can post them to its runner's main thread.

/** A histogram's state: counts per bucket (not cumulative; the last is +Inf) and the sum. */
export interface HistogramSnapshot {
  counts: number[];
  sum: number;
}

/** A histogram over fixed bounds. */
export class Histo {
  readonly counts: number[];
  sum = 0;

  constructor(readonly bounds: readonly number[] = SECONDS_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
  }

  snapshot(): HistogramSnapshot {
    return { counts: [...this.counts], sum: this.sum };
  }
}

/** Adds `from` into `into` (same bounds). */
export function addHistogram(into: HistogramSnapshot, from: HistogramSnapshot): void {
  for (let i = 0; i < from.counts.length; i++) into.counts[i] = (into.counts[i] ?? 0) + from.counts[i]!;
  into.sum += from.sum;
}

export const emptyHistogram = (bounds: readonly number[] = SECONDS_BUCKETS): HistogramSnapshot => ({ counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 });

/** Histograms by one label's value (a collective's operation, say). */
export type HistogramsSnapshot = Record<string, HistogramSnapshot>;

export function addHistograms(into: HistogramsSnapshot, from: HistogramsSnapshot): void {
  for (const [k, h] of Object.entries(from)) {
    const mine = into[k];
    if (mine === undefined) into[k] = { counts: [...h.counts], sum: h.sum };
    else addHistogram(mine, h);
  }
}

/** Counts by one label's value (a peer kind, a channel operation). */
export type CountsSnapshot = Record<string, number>;

export function addCounts(into: CountsSnapshot, from: CountsSnapshot): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** One function's calls. */
export interface FunctionSnapshot {
  started: number;
  finished: number;
  /** Failed calls by error code. */
  failed: CountsSnapshot;
  duration: HistogramSnapshot;
}

/** Calls by function name. */
export type CallsSnapshot = Record<string, FunctionSnapshot>;

class FunctionCalls {
  started = 0;
  finished = 0;
  readonly failed = new Map<string, number>();
  readonly duration = new Histo();

  snapshot(): FunctionSnapshot {
    return { started: this.started, finished: this.finished, failed: Object.fromEntries(this.failed), duration: this.duration.snapshot() };
  }
}

/**
 * Calls by function: started, finished, failed by error code, and how long they took. The
 * first MAX_FUNCTIONS names get series of their own; the rest share "other".
 */
export class CallTally {
  private readonly fns = new Map<string, FunctionCalls>();

  private of(fn: string): FunctionCalls {
    let f = this.fns.get(fn);
    if (f === undefined) {
      // ("__proto__" would be a prototype, not a key, in the snapshot's plain object.)
      const name = this.fns.size < MAX_FUNCTIONS && fn !== "__proto__" ? fn : OTHER;
      f = this.fns.get(name);
      if (f === undefined) this.fns.set(name, (f = new FunctionCalls()));
      // A folded name is not remembered: memory stays bounded however many names come.
    }
    return f;
  }

  started(fn: string): void {
    this.of(fn).started++;
  }

  /** A call of `fn` ended after `seconds`; `code`: its error's code if it failed. */
  settled(fn: string, seconds: number, code: string | undefined): void {
    const f = this.of(fn);
    f.finished++;
    f.duration.observe(seconds);
    if (code !== undefined) f.failed.set(code, (f.failed.get(code) ?? 0) + 1);
  }

  snapshot(): CallsSnapshot {
    const out: CallsSnapshot = {};
    for (const [name, f] of this.fns) out[name] = f.snapshot();
    return out;
  }
}

/** Adds `from` into `into`, folding names beyond MAX_FUNCTIONS into "other". */
export function addCalls(into: CallsSnapshot, from: CallsSnapshot): void {
  for (const [name, f] of Object.entries(from)) {
    const key = name !== "__proto__" && (Object.hasOwn(into, name) || Object.keys(into).length < MAX_FUNCTIONS) ? name : OTHER;
    const mine = into[key];
    if (mine === undefined) {
      into[key] = { started: f.started, finished: f.finished, failed: { ...f.failed }, duration: { counts: [...f.duration.counts], sum: f.duration.sum } };
      continue;
    }
    mine.started += f.started;
    mine.finished += f.finished;
    addCounts(mine.failed, f.failed);
    addHistogram(mine.duration, f.duration);
  }
}
