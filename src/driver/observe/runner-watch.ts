import type { Logger } from "pino";
import type { RunnerStats } from "../../protocol/messages.ts";
import { fromTuple, type RunnerUsage, type Span, type SpanTuple } from "../../protocol/activity.ts";

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
}

export type ActivityListener = (a: RunnerActivity) => void;

/** A runner that can be asked to report (the cluster's links). */
export interface Watchable {
  readonly address: string;
  readonly alive: boolean;
  watch(intervalMs: number, spans: boolean): void;
}

const DEFAULT_INTERVAL_MS = 1000;

/**
 * The cluster's watchers of its runners. Each runner is asked once for what they want
 * together (the shortest interval; spans if any wants them) and every watcher hears every
 * message; a runner that joins later is asked as it joins.
 */
export class RunnerWatch {
  private readonly listeners = new Map<ActivityListener, { intervalMs: number; spans: boolean }>();
  private asked = { intervalMs: 0, spans: false };

  constructor(
    private readonly runners: () => readonly Watchable[],
    private readonly log: Logger,
  ) {}

  add(listener: ActivityListener, options: WatchOptions = {}): () => void {
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError(`watch: intervalMs must be a positive number of milliseconds, not ${String(intervalMs)}`);
    this.listeners.set(listener, { intervalMs: Math.round(intervalMs), spans: options.spans === true });
    this.update();
    return () => {
      if (this.listeners.delete(listener)) this.update();
    };
  }

  /** A runner (re)joined: ask it for what the watchers want. */
  joined(r: Watchable): void {
    if (this.asked.intervalMs > 0) r.watch(this.asked.intervalMs, this.asked.spans);
  }

  /** A runner's Activity arrived. */
  heard(runner: string, at: number, stats: RunnerStats, usage: RunnerUsage, spans: SpanTuple[], dropped: number): void {
    if (this.listeners.size === 0) return;
    const a: RunnerActivity = { runner, at, stats, usage, spans: spans.map(fromTuple), dropped };
    for (const [l, o] of this.listeners) {
      try {
        l(o.spans || a.spans.length === 0 ? a : { ...a, spans: [] });
      } catch (err) {
        this.log.error({ err: (err as Error).message }, "an activity listener threw");
      }
    }
  }

  private update(): void {
    const all = [...this.listeners.values()];
    const want = all.length === 0
      ? { intervalMs: 0, spans: false }
      : { intervalMs: Math.min(...all.map((o) => o.intervalMs)), spans: all.some((o) => o.spans) };
    if (want.intervalMs === this.asked.intervalMs && want.spans === this.asked.spans) return;
    this.asked = want;
    for (const r of this.runners()) if (r.alive) r.watch(want.intervalMs, want.spans);
  }
}
