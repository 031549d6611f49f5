import { randomUUID } from "node:crypto";
import type { Piscina } from "piscina";
import { encodeSegments } from "../protocol/codec.ts";
import type { ActorStat, ChanRequest } from "../protocol/messages.ts";
import { LANE_COUNTER, LANE_COUNTERS, spansChannelName, ThreadChannel, type ToMainThread } from "./thread-messages.ts";

export interface ChanRelayHandler {
  op(threadId: number, request: number, req: ChanRequest, values: Uint8Array[][], pointers: number[]): void;
  cancel(threadId: number, request: number): void;
  /** A big channel value that reached a thread over its lane as an address: fetch it for the thread. */
  take(threadId: number, request: number, pointer: [string, string | null]): void;
  /** A thread died: its waiting operations must be withdrawn at their homes. */
  threadGone(threadId: number): void;
}

/**
 * The runner main thread's view of its threads' lanes (lane.ts): which live thread listens
 * on which port, the counters they share, and the drain at shutdown. Threads announce
 * themselves on the runner's channel of threads (thread-messages.ts); piscina's
 * workerCreate/workerDestroy events say which threads are alive, so a replaced thread's
 * port disappears and its successor's appears.
 */
export class LaneRegistry {
  /** Name of the channel the threads must join (unique per runner). */
  readonly channelName = `strand-lanes:${process.pid}:${randomUUID()}`;
  readonly counterBuffer = new SharedArrayBuffer(LANE_COUNTERS * 4);
  /** calls, failures, inFlight, loads: see LANE_COUNTER. */
  readonly counters = new Int32Array(this.counterBuffer);
  private readonly channel = ThreadChannel.main(this.channelName);
  /** The threads' spans come on a channel of their own (see spansChannelName). */
  private readonly spansChannel = ThreadChannel.main(spansChannelName(this.channelName));
  private readonly live = new Set<number>();
  private readonly ports = new Map<number, number>(); // threadId -> port
  private readonly drained = new Set<number>();
  private draining = false;
  private drainWaiter: (() => void) | undefined;
  private listener: ((ports: number[]) => void) | undefined;
  private storer: ((objectId: string, segments: Uint8Array[]) => number | Promise<number>) | undefined;
  private chanHandler: ChanRelayHandler | undefined;
  private spansHandler: ((json: string, count: number, dropped: number) => void) | undefined;
  private goHandler: ((driver: string, frame: Uint8Array[]) => void) | undefined;
  /** Flushes of the threads' spans under way: the threads yet to answer each. */
  private readonly flushes = new Map<number, { waiting: Set<number>; done: () => void }>();
  private nextFlush = 0;
  private changePending = false;
  private readonly goneListeners: ((threadId: number) => void)[] = [];
  private goroutineThread: ((threadId: number) => void) | undefined;
  /** Threads of the actor pool (actors/actor-threads.ts): their lanes are not offered for stateless calls. */
  private readonly actorThreadIds = new Set<number>();
  private actorThread: ((threadId: number) => void) | undefined;
  private actorCount: ((m: { threadId: number; count: number; born: string[]; gone: string[] }) => void) | undefined;
  private readonly actorReports = new Map<number, { waiting: Set<number>; actors: ActorStat[]; done: () => void }>();
  /** Each actor thread's last answer: it stands in for a thread too busy to answer in time. */
  private readonly lastActorReport = new Map<number, ActorStat[]>();
  private nextActorReport = 0;

  constructor() {
    this.channel.listen((m) => this.onMessage(m));
    this.spansChannel.listen((m) => this.onMessage(m));
  }

  /** Follows the pool's threads (call once the pool exists); `actors`: the actor pool's. */
  watch(pool: Piscina, actors = false): void {
    pool.on("workerCreate", (w: { id: number }) => {
      if (actors) this.actorThreadIds.add(w.id);
      this.live.add(w.id);
      this.changed();
    });
    pool.on("workerDestroy", (w: { id: number }) => {
      this.chanHandler?.threadGone(w.id);
      for (const l of this.goneListeners) l(w.id);
      for (const f of [...this.flushes.values()]) this.flushAnswered(f, w.id);
      this.lastActorReport.delete(w.id);
      for (const r of [...this.actorReports.values()]) if (r.waiting.delete(w.id) && r.waiting.size === 0) r.done();
      this.live.delete(w.id);
      this.ports.delete(w.id);
      this.drained.delete(w.id);
      this.changed();
      this.checkDrained();
    });
  }

  /** Ids of the live threads. */
  get threadIds(): number[] {
    return [...this.live];
  }

  /** `listener` hears the id of every thread that goes (the runner's metrics keep its counts). */
  onThreadGone(listener: (threadId: number) => void): void {
    this.goneListeners.push(listener);
  }

  /** `listener` hears of every thread that listens on its goroutine channel (goroutines/dispatch.ts). */
  onGoroutineThread(listener: (threadId: number) => void): void {
    this.goroutineThread = listener;
  }

  /** Ports of the live threads' lanes (actor threads' aside: drivers learn those from their spawns). */
  get lanePorts(): number[] {
    return [...this.ports].filter(([t]) => this.live.has(t) && !this.actorThreadIds.has(t)).map(([, port]) => port);
  }

  /** `ready` hears of every actor thread listening on its goroutine channel; `count`, how many actors each hosts. */
  onActorThread(ready: (threadId: number) => void, count: (m: { threadId: number; count: number; born: string[]; gone: string[] }) => void): void {
    this.actorThread = ready;
    this.actorCount = count;
  }

  /** Whether the actor pool has live threads (no actor was ever spawned here: none). */
  get hasActorThreads(): boolean {
    for (const t of this.actorThreadIds) if (this.live.has(t)) return true;
    return false;
  }

  /**
   * What every actor thread says of its actors, after at most `timeoutMs`. A thread busy with
   * a long synchronous method cannot answer: its last answer stands in (late, but its actors
   * are not left out: a name lookup would miss them, a dashboard would show them gone).
   */
  actorStats(timeoutMs = 1000): Promise<ActorStat[]> {
    const waiting = new Set([...this.actorThreadIds].filter((t) => this.live.has(t)));
    if (waiting.size === 0) return Promise.resolve([]);
    const request = ++this.nextActorReport;
    return new Promise((resolve) => {
      const actors: ActorStat[] = [];
      const timer = setTimeout(() => done(), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.actorReports.delete(request);
        for (const t of waiting) actors.push(...(this.lastActorReport.get(t) ?? []));
        resolve(actors);
      };
      this.actorReports.set(request, { waiting, actors, done });
      this.channel.post({ kind: "actor-stats-request", request });
    });
  }

  onChanged(listener: (ports: number[]) => void): void {
    this.listener = listener;
  }

  /** Where the threads' channel operations go (the daemon forwards them to the channels' homes). */
  onChan(handler: ChanRelayHandler): void {
    this.chanHandler = handler;
  }

  /** Where the threads' spans go (the runner's activity feed). */
  /** Where a thread's `go()` goes when the thread has no lane to its driver: that driver's main connection. */
  onGo(handler: (driver: string, frame: Uint8Array[]) => void): void {
    this.goHandler = handler;
  }

  onSpans(handler: (json: string, count: number, dropped: number) => void): void {
    this.spansHandler = handler;
  }

  /** Tells the threads whether to keep spans of their calls (someone watches with spans). */
  /** Every thread collects its garbage soon (the store dropped buffers their calls may still see). */
  collectGarbage(): void {
    this.channel.post({ kind: "collect-garbage" });
  }

  setRecording(on: boolean, merge = 0): void {
    // 0: off; 1: every span; 1 + n: calls closer than n µs may be merged (thread-spans.ts).
    Atomics.store(this.counters, LANE_COUNTER.watching, on ? 1 + Math.min(merge, 1e9) : 0);
  }

  /**
   * Has every live thread hand over its spans now; resolves once all have answered, or after
   * `timeoutMs` (a thread busy in a long synchronous call cannot answer until it is done).
   */
  flushSpans(timeoutMs = 2000): Promise<void> {
    const waiting = new Set(this.laneThreads());
    if (waiting.size === 0) return Promise.resolve();
    const request = ++this.nextFlush;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.flushes.delete(request);
        resolve();
      };
      this.flushes.set(request, { waiting, done });
      this.channel.post({ kind: "flush-spans", request });
    });
  }

  private laneThreads(): number[] {
    return [...this.ports.keys()].filter((t) => this.live.has(t));
  }

  private flushAnswered(f: { waiting: Set<number>; done: () => void }, threadId: number): void {
    if (f.waiting.delete(threadId) && f.waiting.size === 0) f.done();
  }

  /** Tells the threads that the caller gave up on a job (its context's signal aborts). */
  abortJob(job: number, reason: string): void {
    this.channel.post({ kind: "abort-call", job, reason });
  }

  /** Pooled result buffers of thread `threadId`, written: it may reuse them (snapshot-pool.ts). */
  returnBuffers(threadId: number, buffers: SharedArrayBuffer[]): void {
    this.channel.post({ kind: "return-buffers", threadId, buffers });
  }

  /** The answer to a thread's channel operation. */
  chanReply(threadId: number, request: number, ok: boolean, index: number, done: boolean, segments: Uint8Array[]): void {
    this.channel.post({ kind: "chan-answer", threadId, request, ok, index, done, segments });
  }

  /** Where results kept by lane calls go: returns their size, or throws (store full, owner gone). */
  onStore(storer: (objectId: string, segments: Uint8Array[]) => number | Promise<number>): void {
    this.storer = storer;
  }

  private changed(): void {
    if (this.changePending) return;
    this.changePending = true;
    queueMicrotask(() => {
      this.changePending = false;
      this.listener?.(this.lanePorts);
    });
  }

  private onMessage(m: ToMainThread): void {
    switch (m.kind) {
      case "lane-listening":
        this.ports.set(m.threadId, m.port);
        this.changed();
        // A thread that started after the drain order (a replacement) gets it too.
        if (this.draining) this.channel.post({ kind: "drain-lanes" });
        return;
      case "goroutines-ready": return this.actorThreadIds.has(m.threadId) ? this.actorThread?.(m.threadId) : this.goroutineThread?.(m.threadId);
      case "actor-count": return this.actorCount?.(m);
      case "actor-report": {
        if (this.live.has(m.threadId)) this.lastActorReport.set(m.threadId, m.actors);
        const r = this.actorReports.get(m.request);
        if (r === undefined || !r.waiting.delete(m.threadId)) return;
        r.actors.push(...m.actors);
        if (r.waiting.size === 0) r.done();
        return;
      }
      case "lane-drained":
        this.drained.add(m.threadId);
        return this.checkDrained();
      case "relay-chan-op": return this.chanHandler?.op(m.threadId, m.request, m.req, m.values, m.pointers);
      case "take-chan-value": return this.chanHandler?.take(m.threadId, m.request, m.pointer);
      case "withdraw-chan-op": return this.chanHandler?.cancel(m.threadId, m.request);
      case "relay-go": return this.goHandler?.(m.driver, m.frame);
      case "spans": {
        this.spansHandler?.(m.json, m.count, m.dropped);
        const f = m.flush === undefined ? undefined : this.flushes.get(m.flush);
        if (f !== undefined) this.flushAnswered(f, m.threadId);
        return;
      }
      case "store-object": {
        const { threadId, request } = m;
        const failed = (err: unknown): void => this.channel.post({ kind: "object-stored", threadId, request, bytes: 0, error: encodeSegments(err, "error") });
        const stored = (bytes: number): void => this.channel.post({ kind: "object-stored", threadId, request, bytes });
        try {
          if (this.storer === undefined) throw new Error("this runner keeps no objects");
          const bytes = this.storer(m.objectId, m.segments);
          // Over the budget, the store answers once spilling made room.
          if (typeof bytes === "number") stored(bytes);
          else bytes.then(stored, failed);
        } catch (err) {
          failed(err);
        }
      }
    }
  }

  private checkDrained(): void {
    if (!this.draining) return;
    if ([...this.live].every((t) => this.drained.has(t) || !this.ports.has(t))) this.drainWaiter?.();
  }

  /** Tells every lane to take nothing new and close once idle; resolves when all are idle, or after `graceMs`. */
  drain(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, graceMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiter = done;
      this.draining = true;
      this.channel.post({ kind: "drain-lanes" });
      this.checkDrained();
    });
  }

  close(): void {
    this.channel.close();
    this.spansChannel.close();
  }
}
