import os from "node:os";
import { Piscina } from "piscina";
import { sizeThreadHeaps } from "./thread-heap.ts";
import { CancelledError } from "../errors.ts";
import { packTasks, unpackOutcomes } from "./batch.ts";
import { GoroutineDispatch } from "./goroutines/dispatch.ts";
import { errorOutcome } from "./result-frame.ts";
import { LaneRegistry } from "./lane-registry.ts";
import { parseActorOp } from "../protocol/actor-wire.ts";
import { ActorNames } from "./actors/actor-names.ts";
import type { CallOutcome, CallTask } from "./task.ts";
import type { CallOutput, LaneConfig, OutcomeBatch, WorkerData } from "./thread-messages.ts";

export interface Job extends CallTask {
  /** Never batched with others, so cancelling it can kill its thread alone. */
  solo: boolean;
  /**
   * May wait on channels for as long as it likes (a goroutine): it goes to a thread beside
   * other work instead of holding one (goroutines/dispatch.ts), so blocked goroutines never
   * starve the pool, and any number may be live.
   */
  concurrent?: boolean;
  /** The segments are views of a buffer nobody else uses: big ones are moved, not copied. */
  owned: boolean;
  done: (outcome: CallOutcome) => void;
  /** performance.now() when it reached the executor (only while metrics are on). */
  queuedAt?: number;
}

/** What the executor tells the runner's metrics (runner/metrics/runner-metrics.ts). */
export interface ExecutorMetrics {
  /** A task of `calls` calls went to a thread. */
  batch(calls: number): void;
  /** A queued call waited this long before going to a thread. */
  queueWait(seconds: number): void;
}

const MAX_BATCH = 256;
/** How long a cancelled call may take to stop on its own signal before its thread is stopped. */
export const CANCEL_GRACE_MS = 500;

const fromSource = import.meta.url.endsWith(".ts");
const workerFile = new URL(`./worker${fromSource ? ".ts" : ".js"}`, import.meta.url);

/**
 * Running from source (tests, `tsx`), worker threads need tsx's loader too. A process
 * started with `--import tsx` passes it on; one whose TypeScript is compiled by another
 * tool (vitest) does not, so add it.
 */
function workerExecArgv(): string[] {
  // Compiled: no flags. The process's own (--cpu-prof, say) are often not allowed in workers.
  if (!fromSource) return [];
  if (process.execArgv.some((a) => a.includes("tsx"))) return process.execArgv;
  return [...process.execArgv, "--import", import.meta.resolve("tsx")];
}

/**
 * Runs jobs on a piscina pool with one task per thread at a time. When more jobs wait
 * than threads are free, consecutive jobs are handed over as one batch: a no-op call
 * then costs a fraction of a thread hop instead of a whole one.
 */
export class Executor {
  readonly threads: number;
  private readonly pool: Piscina;
  private readonly queue: Job[] = [];
  /** Tasks currently running, and the calls they carry. */
  private running = 0;
  private runningJobs = 0;
  private readonly soloAborts = new Map<number, AbortController>();
  private readonly graceTimers = new Map<number, NodeJS.Timeout>();
  private lastId = 0;
  private pumpScheduled = false;
  // Counters for runner stats.
  loads = 0;
  workerRestarts = 0;
  batches = 0;
  batchedJobs = 0;

  nextId(): number {
    return ++this.lastId;
  }

  /**
   * @param lane when given, every thread also serves its own connection for direct
   *   calls (see lane.ts); `lanes` tracks their ports.
   */
  constructor(threads = os.availableParallelism(), lane?: Omit<LaneConfig, "channel" | "counters">, actorThreads = threads) {
    this.threads = threads;
    this.actorThreads = actorThreads;
    this.laneConfig = lane;
    this.lanes = lane === undefined ? undefined : new LaneRegistry();
    const workerData = lane === undefined || this.lanes === undefined
      ? undefined
      : { lane: { ...lane, channel: this.lanes.channelName, counters: this.lanes.counterBuffer } } satisfies WorkerData;
    sizeThreadHeaps(); // before the threads' isolates are made
    this.pool = new Piscina({
      filename: workerFile.href,
      execArgv: workerExecArgv(),
      minThreads: threads,
      maxThreads: threads,
      // Piscina's one task per thread at a time is our own accounting's too: goroutines,
      // which may await channels for ever, are never piscina tasks (goroutines/dispatch.ts).
      // Idle threads must keep their event loops turning to serve their lanes.
      atomics: lane === undefined ? "sync" : "disabled",
      ...(workerData !== undefined ? { workerData } : {}),
    });
    this.lanes?.watch(this.pool);
    if (this.lanes !== undefined) {
      const goroutines = (this.goroutines = new GoroutineDispatch(this.lanes.channelName, {
        counters: this.lanes.counters, maxGoroutines: lane?.maxGoroutines, threads,
        afterOutput: (thread, seq, deliver) => this.output.after(thread, seq, deliver),
        loaded: (n) => (this.loads += n),
      }));
      this.lanes.onGoroutineThread((threadId) => goroutines.threadReady(threadId));
      this.lanes.onThreadGone((threadId) => goroutines.threadGone(threadId, workerDied(new Error(`thread ${threadId} exited`))));
    }
    // A thread that dies outside a piscina task (user code crashing during a lane call)
    // is reported here; its lane calls were already answered. Piscina replaces it.
    this.pool.on("error", (err: unknown) => {
      this.workerRestarts++;
      this.onThreadError?.(err instanceof Error ? err : new Error(String(err)));
    });
    this.pool.on("message", (m: CallOutput) => this.output.received(m, this.onOutput));
    this.pool.on("workerDestroy", (w: { id: number }) => this.output.threadGone(w.id));
  }

  /** What batched calls print, by job id (the session that sent the job sends it on). */
  onOutput: ((job: number, fn: string, stream: number, lines: string[]) => void) | undefined;
  private readonly output = new OutputOrder();

  /** The threads' own connections, when enabled. */
  readonly lanes: LaneRegistry | undefined;

  /** Where goroutines go (with lanes: every thread then serves its goroutine channel). */
  private readonly goroutines: GoroutineDispatch | undefined;

  /** Threads of the actor pool, once the first actor is spawned. */
  readonly actorThreads: number;
  private readonly laneConfig: Omit<LaneConfig, "channel" | "counters"> | undefined;
  /**
   * Actors live on threads of their own, started with the first spawn: their calls then never
   * wait behind a long stateless call, and a cancelled call's thread (which the pool may stop)
   * never holds one. Spawns go to the thread hosting the fewest actors.
   */
  private actorPool: { pool: Piscina; dispatch: GoroutineDispatch; actors: Map<number, number> } | undefined;

  private startActorPool(): NonNullable<Executor["actorPool"]> {
    const lanes = this.lanes!;
    const actors = new Map<number, number>();
    const workerData = { lane: { ...this.laneConfig!, channel: lanes.channelName, counters: lanes.counterBuffer, actors: true } } satisfies WorkerData;
    const pool = new Piscina({
      filename: workerFile.href, execArgv: workerExecArgv(), minThreads: this.actorThreads, maxThreads: this.actorThreads,
      atomics: "disabled", idleTimeout: Infinity, workerData,
    });
    lanes.watch(pool, true);
    const dispatch = new GoroutineDispatch(lanes.channelName, {
      counters: lanes.counters, maxGoroutines: undefined, threads: this.actorThreads,
      afterOutput: (thread, seq, deliver) => this.output.after(thread, seq, deliver),
      loaded: (n) => (this.loads += n),
      weight: (t) => actors.get(t) ?? 0,
    });
    lanes.onActorThread((t) => dispatch.threadReady(t), (m) => {
      actors.set(m.threadId, m.count);
      this.actorNames.changed(m.threadId, m.born, m.gone);
    });
    lanes.onThreadGone((t) => {
      actors.delete(t);
      this.actorNames.threadGone(t);
      dispatch.threadGone(t, workerDied(new Error(`actor thread ${t} exited`)));
    });
    pool.on("error", (err: unknown) => {
      this.workerRestarts++;
      this.onThreadError?.(err instanceof Error ? err : new Error(String(err)));
    });
    pool.on("message", (m: CallOutput) => this.output.received(m, this.onOutput));
    pool.on("workerDestroy", (w: { id: number }) => this.output.threadGone(w.id));
    return (this.actorPool = { pool, dispatch, actors });
  }

  /** The names of this runner's actors. */
  readonly actorNames = new ActorNames();

  /** Actors hosted on this runner now. */
  get actors(): number {
    let n = 0;
    for (const c of this.actorPool?.actors.values() ?? []) n += c;
    return n;
  }

  /** Set while the runner serves metrics. */
  metrics: ExecutorMetrics | undefined;

  /** Called when a thread dies outside a task (for the runner's log). */
  onThreadError: ((err: Error) => void) | undefined;

  /** Calls running on threads now (not those queued), goroutines that came this way included. */
  get runningCalls(): number {
    return this.runningJobs + (this.goroutines?.live ?? 0);
  }

  get inFlight(): number {
    return this.queue.length + this.runningCalls;
  }

  submit(job: Job): void {
    // An actor's construction (its method calls come down its thread's lane).
    const actor = this.lanes === undefined ? undefined : parseActorOp(job.exportName);
    if (actor?.op === "new") {
      const name = actor.name;
      if (name !== undefined) {
        try {
          this.actorNames.take(name, actor.actorId);
        } catch (err) {
          return job.done(errorOutcome(job.id, err as Error));
        }
        const done = job.done;
        job.done = (o) => {
          if (!o.ok) this.actorNames.free(actor.actorId);
          done(o);
        };
      }
      (this.actorPool ?? this.startActorPool()).dispatch.start(job);
      return;
    }
    if (job.concurrent === true && !job.solo) {
      this.metrics?.batch(1);
      this.batches++;
      this.batchedJobs++;
      if (this.goroutines !== undefined) this.goroutines.start(job);
      else this.start([job], false); // a pool without lanes (tests): a task beside the batches
      return;
    }
    if (this.metrics !== undefined) job.queuedAt = performance.now();
    this.queue.push(job);
    // Wait for the rest of this socket read before forming batches: all the calls of
    // one read then share one hop to a thread instead of the first one going alone.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      queueMicrotask(this.scheduledPump);
    }
  }

  private readonly scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  /** Drops a queued job or kills the thread running a solo one. Returns false if unknown. */
  cancel(id: number, reason: string): boolean {
    const i = this.queue.findIndex((j) => j.id === id);
    if (i >= 0) {
      const [job] = this.queue.splice(i, 1);
      job!.done(errorOutcome(id, new CancelledError(reason)));
      return true;
    }
    const ac = this.soloAborts.get(id);
    if (ac === undefined) return false;
    if (this.lanes === undefined) {
      ac.abort(new CancelledError(reason));
      return true;
    }
    // First the function's own signal (context().signal): a call that stops in time keeps
    // its thread. Only one that runs on past the grace period has its thread stopped.
    this.lanes.abortJob(id, reason);
    const timer = setTimeout(() => ac.abort(new CancelledError(reason)), CANCEL_GRACE_MS);
    timer.unref();
    ac.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    this.graceTimers.set(id, timer);
    return true;
  }

  private pump(): void {
    while (this.running < this.threads && this.queue.length > 0) {
      const free = this.threads - this.running;
      const want = Math.min(MAX_BATCH, Math.max(1, Math.floor(this.queue.length / free)));
      const batch: Job[] = [this.queue.shift()!];
      if (!batch[0]!.solo) {
        while (batch.length < want && this.queue.length > 0 && !this.queue[0]!.solo) batch.push(this.queue.shift()!);
      }
      this.start(batch);
    }
  }

  private start(batch: Job[], counted = true): void {
    if (this.metrics !== undefined) this.measure(this.metrics, batch);
    this.batches++;
    this.batchedJobs += batch.length;
    if (counted) this.running++;
    this.runningJobs += batch.length;
    const { batch: message, transfer: transferList } = packTasks(batch, (i) => batch[i]!.owned);
    let ac: AbortController | undefined;
    if (batch.length === 1 && batch[0]!.solo) {
      ac = new AbortController();
      this.soloAborts.set(batch[0]!.id, ac);
    }
    const run = this.pool.run(message, { transferList, ...(ac ? { signal: ac.signal } : {}) }) as Promise<OutcomeBatch>;
    run.then(
      (res) => {
        this.loads += res.loads;
        const deliver = (): void => {
          const outcomes = unpackOutcomes(res); // in batch order
          batch.forEach((j, i) => j.done(outcomes[i]!));
        };
        // Lines printed by these calls come first: their messages may still be on their way.
        if (res.output === undefined) deliver();
        else this.output.after(res.thread, res.output, deliver);
      },
      (err: unknown) => {
        // Aborted (cancel/timeout) or the worker died; piscina replaces the thread.
        this.workerRestarts++;
        const reason = ac?.signal.aborted ? ac.signal.reason : undefined;
        for (const j of batch) {
          j.done(errorOutcome(j.id, reason instanceof Error ? reason : workerDied(err)));
        }
      },
    ).finally(() => {
      if (ac !== undefined) {
        this.soloAborts.delete(batch[0]!.id);
        clearTimeout(this.graceTimers.get(batch[0]!.id));
        this.graceTimers.delete(batch[0]!.id);
      }
      if (counted) this.running--;
      this.runningJobs -= batch.length;
      this.pump();
    });
  }

  private measure(m: ExecutorMetrics, batch: Job[]): void {
    m.batch(batch.length);
    const now = performance.now();
    for (const j of batch) if (j.queuedAt !== undefined) m.queueWait((now - j.queuedAt) / 1000);
  }

  async close(): Promise<void> {
    this.goroutines?.close();
    this.actorPool?.dispatch.close();
    this.lanes?.close();
    await Promise.all([this.pool.destroy(), this.actorPool?.pool.destroy()]);
  }
}

/**
 * A thread's output messages and its batches' outcomes travel by different ports, which
 * keep no order between them: an outcome waits until the output posted before it is in.
 */
class OutputOrder {
  private readonly seen = new Map<number, number>(); // thread -> last seq received
  private readonly waiting = new Map<number, { seq: number; go: () => void }[]>();

  received(m: CallOutput, to: Executor["onOutput"]): void {
    if (m.kind !== "call-output") return;
    for (const [job, fn, stream, lines] of m.lines) to?.(job, fn, stream, lines);
    this.seen.set(m.thread, m.seq);
    const w = this.waiting.get(m.thread);
    if (w === undefined) return;
    const due = w.filter((x) => x.seq <= m.seq);
    if (due.length === 0) return;
    if (due.length === w.length) this.waiting.delete(m.thread);
    else this.waiting.set(m.thread, w.filter((x) => x.seq > m.seq));
    for (const { go } of due) go();
  }

  after(thread: number, seq: number, go: () => void): void {
    if ((this.seen.get(thread) ?? 0) >= seq) return go();
    let w = this.waiting.get(thread);
    if (w === undefined) this.waiting.set(thread, (w = []));
    w.push({ seq, go });
  }

  /** A dead thread posts nothing more: what waited for it goes. */
  threadGone(thread: number): void {
    this.seen.delete(thread);
    for (const { go } of this.waiting.get(thread)?.splice(0) ?? []) go();
    this.waiting.delete(thread);
  }
}

function workerDied(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const out = new Error(`worker thread died: ${e.message}`);
  out.name = "WorkerDied";
  out.stack = e.stack ?? out.stack;
  return out;
}
