import type { Logger } from "pino";
import type { RunnerStats } from "../../protocol/messages.ts";
import { decodeSpans, fromTuple, type RunnerUsage, type Span } from "../../protocol/activity.ts";

/** A runner's activity as a watcher gets it (see Cluster.watch). */
export interface RunnerActivity {
  /** The runner, host:port as the cluster names it. */
  runner: string;
  /** When the runner sent it, on the runner's clock (µs since the epoch). */
  at: number;
  stats: RunnerStats;
  usage: RunnerUsage;
  /** What ran there since its last message (every driver's calls), if the watcher asked for spans. */
  spans: Span[];
  /** Spans the runner left out to bound its messages. */
  dropped: number;
}

export interface WatchOptions {
  /** How often each runner reports (default 1000 ms; at least 50). */
  intervalMs?: number;
  /** Include the spans of what ran (default false: counters and usage only). */
  spans?: boolean;
  /**
   * Take back-to-back successful calls of one function, for one driver, on one thread, that
   * start within this many µs of the last one's end, as one span with a `count` (default 0:
   * every call its own span). A task stream drawn at milliseconds a pixel loses nothing and
   * costs the runners and this driver per run of calls, not per call. Ignored while another
   * watcher (a trace) wants every span.
   */
  mergeMicros?: number;
}

export type ActivityListener = (a: RunnerActivity) => void;

/**
 * Hears a runner's spans undecoded: `count` spans as JSON chunks (the listener's own copies;
 * protocol/activity.ts decodeSpans reads them). For a trace, which keeps them until it stops.
 */
export type SpanChunksListener = (runner: string, count: number, chunks: Uint8Array[], dropped: number) => void;

/** A runner that can be asked to report (the cluster's links). */
export interface Watchable {
  readonly address: string;
  readonly alive: boolean;
  watch(intervalMs: number, spans: boolean, flush?: number, merge?: number): void;
}

const DEFAULT_INTERVAL_MS = 1000;

/** What a watcher asks of the runners. */
interface Wants {
  intervalMs: number;
  spans: boolean;
  /** Back-to-back calls closer than this (µs) may arrive merged (0: every span apart). */
  merge: number;
}

/**
 * The cluster's watchers of its runners. Each runner is asked once for what they want
 * together (the shortest interval; spans if any wants them) and every watcher hears every
 * message; a runner that joins later is asked as it joins.
 */
export class RunnerWatch {
  private readonly listeners = new Map<ActivityListener, Wants>();
  private readonly chunkListeners = new Map<SpanChunksListener, Wants>();
  private asked: Wants = { intervalMs: 0, spans: false, merge: 0 };
  /** Flushes under way, by request number: the runner that is to answer. */
  private readonly flushing = new Map<number, { runner: string; end: (answered: boolean) => void }>();
  private nextFlush = 0;

  constructor(
    private readonly runners: () => readonly Watchable[],
    private readonly log: Logger,
  ) {}

  add(listener: ActivityListener, options: WatchOptions = {}): () => void {
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError(`watch: intervalMs must be a positive number of milliseconds, not ${String(intervalMs)}`);
    const merge = options.mergeMicros ?? 0;
    if (!Number.isFinite(merge) || merge < 0) throw new TypeError(`watch: mergeMicros must be a number of microseconds ≥ 0, not ${String(merge)}`);
    this.listeners.set(listener, { intervalMs: Math.round(intervalMs), spans: options.spans === true, merge: Math.round(merge) });
    this.update();
    return () => {
      if (this.listeners.delete(listener)) this.update();
    };
  }

  /** Like add with spans, the spans undecoded (see SpanChunksListener). */
  addChunks(listener: SpanChunksListener, intervalMs: number): () => void {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError(`watch: intervalMs must be a positive number of milliseconds, not ${String(intervalMs)}`);
    this.chunkListeners.set(listener, { intervalMs: Math.round(intervalMs), spans: true, merge: 0 });
    this.update();
    return () => {
      if (this.chunkListeners.delete(listener)) this.update();
    };
  }

  /** A runner (re)joined: ask it for what the watchers want. */
  joined(r: Watchable): void {
    if (this.asked.intervalMs > 0) r.watch(this.asked.intervalMs, this.asked.spans, undefined, this.asked.merge);
  }

  /**
   * Has every live runner send, at once, every span it holds (its threads' too), and resolves
   * when each has (its listeners have heard them), or after `timeoutMs`: what a trace does
   * before it stops, so that no call that settled is missing. Returns the runners that did not answer.
   */
  async flush(timeoutMs = 5000): Promise<string[]> {
    if (this.asked.intervalMs === 0) return [];
    const missing: string[] = [];
    await Promise.all(this.runners().filter((r) => r.alive).map(async (r) => {
      if (!(await this.flushOne(r, timeoutMs))) missing.push(r.address);
    }));
    return missing;
  }

  private flushOne(r: Watchable, timeoutMs: number): Promise<boolean> {
    const request = ++this.nextFlush;
    return new Promise((resolve) => {
      const end = (answered: boolean): void => {
        clearTimeout(timer);
        this.flushing.delete(request);
        resolve(answered);
      };
      const timer = setTimeout(() => end(false), timeoutMs);
      this.flushing.set(request, { runner: r.address, end });
      r.watch(this.asked.intervalMs, this.asked.spans, request, this.asked.merge);
    });
  }

  /** A runner's link is gone: a flush waiting for it waits no more. */
  lost(runner: string): void {
    for (const f of [...this.flushing.values()]) if (f.runner === runner) f.end(false);
  }

  /** A runner's Activity arrived (`flushed`: the answer to a flush). */
  heard(runner: string, at: number, stats: RunnerStats, usage: RunnerUsage, count: number, chunks: Uint8Array[], dropped: number, flushed?: number): void {
    if (this.chunkListeners.size > 0) {
      const copies = chunks.map((c) => c.slice()); // views of the frame: kept, they must be ours
      for (const l of this.chunkListeners.keys()) {
        try {
          l(runner, count, copies, dropped);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, "an activity listener threw");
        }
      }
    }
    this.tell(runner, at, stats, usage, chunks, dropped);
    const f = flushed === undefined ? undefined : this.flushing.get(flushed);
    if (f?.runner === runner) f.end(true);
  }

  private tell(runner: string, at: number, stats: RunnerStats, usage: RunnerUsage, chunks: Uint8Array[], dropped: number): void {
    if (this.listeners.size === 0) return;
    let spans: Span[] = [];
    if (chunks.length > 0 && [...this.listeners.values()].some((o) => o.spans)) {
      const decoded = decodeSpans(chunks);
      if (decoded.invalid > 0) this.log.warn({ runner, invalid: decoded.invalid }, "a runner sent spans that do not fit the table: left out");
      spans = decoded.spans.map(fromTuple);
    }
    const a: RunnerActivity = { runner, at, stats, usage, spans, dropped };
    for (const [l, o] of this.listeners) {
      try {
        l(o.spans || a.spans.length === 0 ? a : { ...a, spans: [] });
      } catch (err) {
        this.log.error({ err: (err as Error).message }, "an activity listener threw");
      }
    }
  }

  private update(): void {
    const all = [...this.listeners.values(), ...this.chunkListeners.values()];
    const spanning = all.filter((o) => o.spans);
    const want: Wants = all.length === 0
      ? { intervalMs: 0, spans: false, merge: 0 }
      : {
        intervalMs: Math.min(...all.map((o) => o.intervalMs)), spans: spanning.length > 0,
        // Merged only if every watcher of spans takes them merged.
        merge: spanning.length > 0 && spanning.every((o) => o.merge > 0) ? Math.min(...spanning.map((o) => o.merge)) : 0,
      };
    if (want.intervalMs === this.asked.intervalMs && want.spans === this.asked.spans && want.merge === this.asked.merge) return;
    this.asked = want;
    for (const r of this.runners()) if (r.alive) r.watch(want.intervalMs, want.spans, undefined, want.merge);
  }
}
