import type { CallObserver, PendingCall } from "../calls/call.ts";
import { functionOf } from "../../protocol/function-name.ts";

/** One function's calls, in a snapshot. */
export interface FunctionCounts {
  submitted: number;
  /** Settled with a result. */
  done: number;
  /** Settled with an error (after any retries). */
  failed: number;
}

/** How far a job has got: counts of calls (or, for `progress(items)`, of items) at one moment. */
export interface ProgressSnapshot {
  /** Calls made since the view started (for `progress(items)`: the items). */
  submitted: number;
  /** Settled with a result. */
  done: number;
  /** Settled with an error. */
  failed: number;
  /** Calls in flight on the runners now (for `progress(items)`: items not settled yet). */
  running: number;
  /** Calls settled per second: over the last few seconds, and over the whole run in the final snapshot. */
  rate: number;
  /** The same counts per exported function (its name; an SPMD job's ranks count under their function). */
  byFunction: Record<string, FunctionCounts>;
  /** Live runners with at least one call in flight, and live runners (in the final snapshot, taken once the
   * cluster has closed: the most that were live at once). */
  runnersBusy: number;
  runners: number;
  /** Milliseconds since the view started. */
  elapsedMs: number;
  /** The last snapshot: the cluster closed, or the view was stopped. */
  final: boolean;
}

/** What a progress view needs of a cluster (cluster.ts hands it over; observe/ never sees the cluster). */
export interface ProgressHost {
  /** Starts telling `o` about calls; returns the function that stops it. */
  observe(o: CallObserver): () => void;
  /** The runners as they are now. */
  runners(): readonly { readonly alive: boolean; readonly inFlight: number }[];
  /** Aborted once the cluster has closed (its calls settled): the view ends. */
  closed: AbortSignal;
}

export interface ProgressOptions {
  /** Least time between two snapshots of the iterator, in ms (default 250). */
  intervalMs?: number;
}

/** Default least time between snapshots. */
export const PROGRESS_INTERVAL_MS = 250;
/** The window `rate` is measured over while the run goes on. */
const RATE_WINDOW_MS = 5_000;

/**
 * Counts kept by a view over calls (a CallObserver), plus the sliding window of its rate.
 * Calls made before the view started are not counted, nor their settlements: every call is
 * numbered (`seq`), so a settlement of a call older than the first one seen is ignored.
 */
export class CallCounts implements CallObserver {
  submittedN = 0;
  doneN = 0;
  failedN = 0;
  private firstSeq = 0;
  private readonly fns = new Map<string, FunctionCounts>();
  private readonly t0 = performance.now();
  private readonly rate = new RateMeter();
  /** The most runners seen live at once (the final snapshot comes after the links closed). */
  private liveSeen = 0;
  /** Told after every counted event (cheap: sets a flag or wakes a waiter). */
  changed: () => void = () => {};

  submitted(call: PendingCall): void {
    if (this.firstSeq === 0) {
      this.firstSeq = call.seq;
      this.rate.start(performance.now());
    }
    this.submittedN++;
    this.fn(functionOf(call.exportName)).submitted++;
    this.changed();
  }

  sent(): void {}

  settled(call: PendingCall, error: Error | undefined): void {
    if (this.firstSeq === 0 || call.seq < this.firstSeq) return;
    const f = this.fn(functionOf(call.exportName));
    if (error === undefined) {
      this.doneN++;
      f.done++;
    } else {
      this.failedN++;
      f.failed++;
    }
    this.rate.settled(performance.now());
    this.changed();
  }

  private fn(name: string): FunctionCounts {
    let f = this.fns.get(name);
    if (f === undefined) this.fns.set(name, (f = { submitted: 0, done: 0, failed: 0 }));
    return f;
  }

  /** The counts now; `final` takes the rate over the whole run instead of the last seconds. */
  snapshot(runners: readonly { readonly alive: boolean; readonly inFlight: number }[], final: boolean): ProgressSnapshot {
    const now = performance.now();
    const settled = this.doneN + this.failedN;
    let running = 0;
    let busy = 0;
    let live = 0;
    for (const r of runners) {
      if (!r.alive) continue;
      live++;
      running += r.inFlight;
      if (r.inFlight > 0) busy++;
    }
    this.liveSeen = Math.max(this.liveSeen, live);
    const byFunction: Record<string, FunctionCounts> = {};
    for (const [name, f] of this.fns) byFunction[name] = { ...f };
    return {
      submitted: this.submittedN, done: this.doneN, failed: this.failedN, running,
      rate: final ? this.rate.whole(settled) : this.rate.recent(now, settled),
      byFunction, runnersBusy: busy, runners: final ? this.liveSeen : live, elapsedMs: now - this.t0, final,
    };
  }
}

/**
 * Things settled per second: over the last RATE_WINDOW_MS while a run goes on (a sample per
 * snapshot), and from the first thing started to the last settled for the whole run.
 */
export class RateMeter {
  private startedAt: number | undefined;
  private lastSettledAt = 0;
  private readonly samples: { t: number; settled: number }[] = [];

  start(now: number): void {
    this.startedAt ??= now;
  }

  settled(now: number): void {
    this.lastSettledAt = now;
  }

  whole(settled: number): number {
    const span = this.lastSettledAt - (this.startedAt ?? 0);
    return settled === 0 || this.startedAt === undefined || span <= 0 ? 0 : (settled * 1000) / span;
  }

  recent(now: number, settled: number): number {
    if (this.startedAt === undefined) return 0;
    const s = this.samples;
    s.push({ t: now, settled });
    // Keep one sample at or beyond the window's start, so the rate spans the whole window.
    while (s.length > 2 && now - s[1]!.t >= RATE_WINDOW_MS) s.shift();
    const from = s.length > 1 ? s[0]! : { t: this.startedAt, settled: 0 };
    const dt = now - from.t;
    return dt <= 0 ? 0 : ((settled - from.settled) * 1000) / dt;
  }
}

/**
 * `cluster.progress()`: counts of the cluster's calls from now on. `snapshot()` gives them at
 * once; iterating gives a snapshot at once, then one whenever calls have moved and at least
 * `intervalMs` has passed, and a last one (`final: true`) when the cluster closes or `stop()`
 * is called; breaking out of the loop stops the view.
 */
export class Progress implements AsyncIterable<ProgressSnapshot> {
  private readonly counts = new CallCounts();
  private readonly unobserve: () => void;
  private readonly intervalMs: number;
  private ended = false;
  private last: ProgressSnapshot | undefined;
  /** Iterators waiting for calls to move, and for the end. */
  private readonly moveWaiters = new Set<() => void>();
  private readonly endWaiters = new Set<() => void>();
  private readonly endListeners = new Set<(s: ProgressSnapshot) => void>();

  constructor(private readonly host: ProgressHost, options: ProgressOptions = {}) {
    this.intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS;
    if (!(this.intervalMs >= 0)) throw new TypeError(`progress intervalMs must be >= 0, got ${options.intervalMs}`);
    this.unobserve = host.observe(this.counts);
    this.counts.snapshot(host.runners(), false); // notes the runners live now
    this.counts.changed = () => this.wake();
    if (host.closed.aborted) this.stop();
    else host.closed.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** The counts now (the final ones once the view has ended). */
  snapshot(): ProgressSnapshot {
    return this.last ?? this.counts.snapshot(this.host.runners(), false);
  }

  /** Ended: the cluster closed or `stop()` was called. */
  get stopped(): boolean {
    return this.ended;
  }

  /** Stops counting: iterators get the final snapshot and end. Idempotent. */
  stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.unobserve();
    this.last = this.counts.snapshot(this.host.runners(), true);
    for (const w of [...this.endWaiters]) w();
    for (const l of this.endListeners) l(this.last);
    this.endListeners.clear();
  }

  /** Runs `f` with the final snapshot when the view ends (at once if it has). */
  onEnd(f: (s: ProgressSnapshot) => void): void {
    if (this.last !== undefined) f(this.last);
    else this.endListeners.add(f);
  }

  /** Calls moved: wakes the iterators waiting for that (one-shot). */
  private wake(): void {
    if (this.moveWaiters.size === 0) return;
    const ws = [...this.moveWaiters];
    this.moveWaiters.clear();
    for (const w of ws) w();
  }

  /** Resolves once calls have moved and `intervalMs` has passed since `since`, or the view ended. */
  private turn(since: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.moveWaiters.delete(onMove);
        this.endWaiters.delete(finish);
        resolve();
      };
      const onMove = (): void => {
        const wait = since + this.intervalMs - performance.now();
        if (wait <= 0) finish();
        else timer = setTimeout(finish, wait);
      };
      this.moveWaiters.add(onMove);
      this.endWaiters.add(finish);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<ProgressSnapshot> {
    let at: number | undefined;
    let done = false;
    return {
      next: async (): Promise<IteratorResult<ProgressSnapshot>> => {
        if (done) return { done: true, value: undefined };
        if (at !== undefined && !this.ended) await this.turn(at);
        at = performance.now();
        if (this.ended) done = true;
        return { done: false, value: this.snapshot() };
      },
      return: (): Promise<IteratorResult<ProgressSnapshot>> => {
        done = true;
        this.stop();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}

/** Several views as one (a process showing the progress of every cluster it made). */
export function mergeSnapshots(list: readonly ProgressSnapshot[]): ProgressSnapshot {
  const m: ProgressSnapshot = { submitted: 0, done: 0, failed: 0, running: 0, rate: 0, byFunction: {}, runnersBusy: 0, runners: 0, elapsedMs: 0, final: list.length > 0 };
  for (const s of list) {
    m.submitted += s.submitted;
    m.done += s.done;
    m.failed += s.failed;
    m.running += s.running;
    m.rate += s.rate;
    m.runnersBusy += s.runnersBusy;
    m.runners += s.runners;
    m.elapsedMs = Math.max(m.elapsedMs, s.elapsedMs);
    m.final &&= s.final;
    for (const [name, f] of Object.entries(s.byFunction)) {
      const t = (m.byFunction[name] ??= { submitted: 0, done: 0, failed: 0 });
      t.submitted += f.submitted;
      t.done += f.done;
      t.failed += f.failed;
    }
  }
  return m;
}
