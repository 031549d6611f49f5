import type { ActorStat, RunnerStats } from "../../protocol/messages.ts";
import { epochMicros, MIN_WATCH_MS, type RunnerUsage, type SpanTuple } from "../../protocol/activity.ts";

/**
 * A watching driver as the feed sees it: where its Activity goes. Spans travel as `chunks`,
 * JSON arrays of span tuples (`count` spans in all): the threads' batches as they made them,
 * so that the main thread never decodes or re-encodes a span.
 */
export interface Watcher {
  sendActivity(at: number, stats: RunnerStats, usage: RunnerUsage, count: number, chunks: string[], dropped: number, flushed?: number): void;
}

interface Watch {
  intervalMs: number;
  spans: boolean;
  /** Back-to-back calls closer than this (µs) may come merged (0: every span apart). */
  merge: number;
  timer: NodeJS.Timeout;
  /** Spans held for the next message: threads' chunks, and the main thread's own spans. */
  chunks: string[];
  mine: SpanTuple[];
  count: number;
  dropped: number;
  cpu: NodeJS.CpuUsage;
  cpuAt: number;
}

/** Spans one watcher holds between two messages; beyond, they are counted as dropped. */
const MAX_HELD = 50_000;

/**
 * Actors one Activity lists at most (the busiest): a runner may host 10,000 idle actors, and a
 * watcher hears from it every half second. Their count and the calls waiting in all their
 * mailboxes come whole.
 */
export const MAX_ACTORS_REPORTED = 100;

/** How long an Activity waits for the actor threads' answers (a busy one's last answer stands in). */
const ACTORS_WAIT_MS = 250;

/** What an Activity says of the actors: the busiest `max`, how many there are, the calls waiting in all their mailboxes. */
export function actorFields(all: readonly ActorStat[], max = MAX_ACTORS_REPORTED): Pick<RunnerStats, "actors" | "actorCount" | "actorMailbox"> {
  let waiting = 0;
  for (const a of all) waiting += a.mailbox;
  const busiest = all.length <= max ? [...all] : [...all].sort((a, b) => b.mailbox - a.mailbox || b.running - a.running || b.calls - a.calls).slice(0, max);
  return { actors: busiest, actorCount: all.length, actorMailbox: waiting };
}

export interface FeedSource {
  stats(): RunnerStats;
  /** Worker threads, and calls running on them now. */
  load(): { threads: number; running: number };
  /** Tells the threads whether anyone wants spans (they keep none otherwise), and how close calls may be merged (0: not). */
  setRecording(on: boolean, merge: number): void;
  /** Has every thread hand over the spans it holds; resolves once they have (or after a bound). */
  flushThreads(): Promise<void>;
  /** The actors living here, asked of their threads (waiting at most `timeoutMs`); undefined while the runner has no actor threads. */
  actors?(timeoutMs: number): Promise<ActorStat[]> | undefined;
}

/**
 * A runner's activity, for the drivers that watch it (T.Watch): every `intervalMs` each gets
 * the runner's counters, its CPU and memory, and (if it asked) the spans of everything that
 * ran since its last message, every driver's calls included, so one dashboard sees the
 * whole runner. Spans are recorded only while a watcher wants them.
 */
export class ActivityFeed {
  private readonly watches = new Map<Watcher, Watch>();
  private readonly started = performance.now();
  /** Anyone wants spans: callers check this before building one. */
  recording = false;
  private merging = 0;

  constructor(private readonly source: FeedSource) {}

  /**
   * `flush`: the watcher wants every span finished so far (a trace stopping): the threads hand
   * theirs over first, then an Activity answers with `flushed` = `flush`. Asking again with the
   * same interval keeps what is held for the watcher.
   */
  watch(w: Watcher, intervalMs: number, spans: boolean, flush?: number | null, merge?: number | null): void {
    const old = this.watches.get(w);
    if (old === undefined || old.intervalMs !== intervalMs || old.spans !== spans || old.merge !== (merge ?? 0)) {
      this.unwatch(w);
      if (intervalMs > 0) {
        // The first picture, sent at once, covers the runner's life so far: over no time at all
        // its CPU figure would mean nothing.
        const timer = setInterval(() => this.send(w), Math.max(MIN_WATCH_MS, intervalMs));
        timer.unref();
        this.watches.set(w, {
          intervalMs, spans, merge: Math.max(0, merge ?? 0), timer, chunks: old?.chunks ?? [], mine: old?.mine ?? [], count: old?.count ?? 0, dropped: old?.dropped ?? 0,
          cpu: { user: 0, system: 0 }, cpuAt: 0,
        });
        if (flush == null) this.send(w); // the first picture at once
      }
      this.updateRecording();
    }
    if (flush != null) void this.source.flushThreads().then(() => this.send(w, flush));
  }

  unwatch(w: Watcher): void {
    const old = this.watches.get(w);
    if (old === undefined) return;
    clearInterval(old.timer);
    this.watches.delete(w);
    this.updateRecording();
  }

  /** A span of the main thread. */
  add(span: SpanTuple): void {
    for (const x of this.watches.values()) {
      if (!x.spans) continue;
      if (x.count < MAX_HELD) {
        x.mine.push(span);
        x.count++;
      } else x.dropped++;
    }
  }

  /** Spans a thread handed over (thread-spans.ts): `count` of them as JSON, passed on as they are; and those it dropped. */
  addFromThread(json: string, count: number, dropped: number): void {
    for (const x of this.watches.values()) {
      if (!x.spans) continue;
      x.dropped += dropped;
      if (count === 0) continue;
      if (x.count + count <= MAX_HELD) {
        x.chunks.push(json);
        x.count += count;
      } else x.dropped += count;
    }
  }

  close(): void {
    for (const w of [...this.watches.keys()]) this.unwatch(w);
  }

  private updateRecording(): void {
    const wanting = [...this.watches.values()].filter((x) => x.spans);
    const on = wanting.length > 0;
    // Merged only if every watcher of spans takes them merged (a trace wants every call).
    const merge = on && wanting.every((x) => x.merge > 0) ? Math.min(...wanting.map((x) => x.merge)) : 0;
    if (on !== this.recording || merge !== this.merging) {
      this.recording = on;
      this.merging = merge;
      this.source.setRecording(on, merge);
    }
  }

  /**
   * Times `work` as a span of the main thread (an object fetch, a code fetch) while someone
   * records; otherwise just runs it. `bytes`: what it moved, from its result.
   */
  timed<R>(kind: string, name: string, owner: string | null, detail: string | null, work: () => Promise<R>, bytes?: (r: R) => number): Promise<R> {
    if (!this.recording) return work();
    const t0 = performance.now();
    const record = (ok: boolean, error: string | null, n: number | null): void =>
      this.add([kind, name, 0, epochMicros(t0), Math.round((performance.now() - t0) * 1000), ok, owner, null, error, n, detail]);
    const p = work();
    void p.then((r) => record(true, null, bytes?.(r) ?? null), (err: unknown) => record(false, `${(err as Error).name}: ${(err as Error).message}`.slice(0, 500), null));
    return p;
  }

  /** Sends `w` an Activity now, or once the actor threads have said what their actors are doing. */
  private send(w: Watcher, flushed?: number): void {
    const asking = this.source.actors?.(ACTORS_WAIT_MS);
    // No actor threads: none lives here (said as such, so that a watcher tells it from a runner that does not say).
    if (asking === undefined) return this.deliver(w, flushed, this.source.actors === undefined ? undefined : []);
    void asking.then((actors) => this.deliver(w, flushed, actors));
  }

  private deliver(w: Watcher, flushed: number | undefined, actors: readonly ActorStat[] | undefined): void {
    const x = this.watches.get(w);
    if (x === undefined) return;
    const now = performance.now();
    const cpu = process.cpuUsage(x.cpu);
    const elapsedMicros = Math.max(1, (now - x.cpuAt) * 1000);
    x.cpu = process.cpuUsage();
    x.cpuAt = now;
    const { threads, running } = this.source.load();
    const mem = process.memoryUsage();
    const usage: RunnerUsage = {
      cpu: (cpu.user + cpu.system) / elapsedMicros, rss: mem.rss, heapUsed: mem.heapUsed, threads, running,
      uptime: (now - this.started) / 1000,
    };
    const chunks = x.mine.length === 0 ? x.chunks : [...x.chunks, JSON.stringify(x.mine)];
    const { count, dropped } = x;
    x.chunks = [];
    x.mine = [];
    x.count = 0;
    x.dropped = 0;
    const stats = this.source.stats();
    w.sendActivity(epochMicros(now), actors === undefined ? stats : { ...stats, ...actorFields(actors) }, usage, count, chunks, dropped, flushed);
  }
}
