import { BroadcastChannel } from "node:worker_threads";
import { packTasks, unpackOutcomes } from "../batch.ts";
import { admitGoroutine, goroutineEnded } from "./limit.ts";
import { errorOutcome, stoppingOutcome } from "../result-frame.ts";
import type { CallOutcome, CallTask } from "../task.ts";
import { goroutineChannelName, type GoroutineEnded, type OutcomeBatch, type StartGoroutine } from "../thread-messages.ts";

// Runs on the runner's main thread: goroutines that came over the main link (a module not
// warm yet, a resend, one that uses objects) go to a worker thread directly, never as
// piscina tasks. A piscina task is held until it ends and a thread takes only so many at
// once: goroutines beyond that waited in piscina's queue for ever while the running ones
// waited for them. Here any number may be live; each thread's goroutine channel
// (thread-messages.ts) carries them to it and their outcomes back.

/** A goroutine as the executor hands it over: a call, and where its outcome goes. */
export interface Job extends CallTask {
  done: (outcome: CallOutcome) => void;
}

/** What the dispatcher needs of the executor it serves. */
export interface DispatchHost {
  /** The runner's shared counters (LANE_COUNTER), where live goroutines are counted. */
  counters: Int32Array;
  maxGoroutines: number | undefined;
  /** The runner's threads: goroutines that came before they were all ready wait for them all. */
  threads: number;
  /** Runs `deliver` once the thread's output messages up to `seq` are in (see OutputOrder). */
  afterOutput(thread: number, seq: number, deliver: () => void): void;
  /** Modules a thread imported while running a goroutine. */
  loaded(n: number): void;
  /** What else a thread carries besides its goroutines (an actor thread: its actors). */
  weight?: (threadId: number) => number;
}

interface Thread {
  readonly id: number;
  readonly channel: BroadcastChannel;
  /** Its goroutines running now (or about to be sent), by executor job id. */
  readonly jobs: Map<number, Job>;
  /** Given to it in this tick, not sent yet. */
  outbox: Job[];
}

export class GoroutineDispatch {
  private readonly threads = new Map<number, Thread>();
  /** Threads that died: a "ready" they posted before dying may still arrive. */
  private readonly dead = new Set<number>();
  /** Goroutines that came before any thread was ready (the runner just started). */
  private readonly early: Job[] = [];
  private closed = false;

  constructor(private readonly channelName: string, private readonly host: DispatchHost) {}

  /** Goroutines running on threads now. */
  get live(): number {
    let n = this.early.length;
    for (const t of this.threads.values()) n += t.jobs.size;
    return n;
  }

  /** Starts a goroutine on the thread with the fewest, or answers it with GoroutineLimitError. */
  start(job: Job): void {
    const refused = admitGoroutine(this.host.counters, this.host.maxGoroutines);
    if (refused !== undefined) return job.done(errorOutcome(job.id, refused));
    if (this.early.length > 0 || this.threads.size < this.host.threads) {
      this.early.push(job);
      return;
    }
    this.send(this.leastBusy()!, job);
  }

  private leastBusy(): Thread | undefined {
    const load = (t: Thread): number => t.jobs.size + (this.host.weight?.(t.id) ?? 0);
    let best: Thread | undefined;
    for (const t of this.threads.values()) if (best === undefined || load(t) < load(best)) best = t;
    return best;
  }

  private send(thread: Thread, job: Job): void {
    thread.jobs.set(job.id, job);
    // Those of one tick go as one message: a burst (thousands of goroutines waiting for
    // their module's code, say) would otherwise hold the main thread, and its heartbeats,
    // for a message each.
    if (thread.outbox.push(job) === 1) queueMicrotask(() => this.flush(thread));
  }

  private flush(thread: Thread): void {
    const jobs = thread.outbox;
    thread.outbox = [];
    if (jobs.length === 0 || !this.threads.has(thread.id)) return;
    // Packed into one arena: the segments may be views of big socket chunks, which a
    // structured clone would copy whole.
    const { batch } = packTasks(jobs, () => false);
    thread.channel.postMessage({ kind: "go", task: batch } satisfies StartGoroutine);
  }

  /** A thread listens on its goroutine channel (GoroutinesReady). */
  threadReady(threadId: number): void {
    if (this.closed || this.dead.has(threadId) || this.threads.has(threadId)) return;
    const channel = new BroadcastChannel(goroutineChannelName(this.channelName, threadId));
    channel.unref(); // it must not keep the runner alive
    const thread: Thread = { id: threadId, channel, jobs: new Map(), outbox: [] };
    channel.onmessage = (ev: unknown) => this.ended(thread, (ev as { data: GoroutineEnded }).data.outcome);
    this.threads.set(threadId, thread);
    // Spread over every thread, not piled on the first one ready (a job's ranks, a burst of
    // goroutines at start-up): those that came early wait until all threads are.
    if (this.threads.size < this.host.threads) return;
    for (const job of this.early.splice(0)) this.send(this.leastBusy()!, job);
  }

  private ended(thread: Thread, res: OutcomeBatch): void {
    const done: [Job, CallOutcome][] = [];
    for (const o of unpackOutcomes(res)) {
      const job = thread.jobs.get(o.id);
      if (job === undefined) continue; // its thread was given up for dead first
      thread.jobs.delete(o.id);
      done.push([job, o]);
    }
    goroutineEnded(this.host.counters, done.length);
    this.host.loaded(res.loads);
    const deliver = (): void => {
      for (const [job, o] of done) job.done(o);
    };
    // Lines they printed come first: their messages may still be on their way.
    if (res.output === undefined) deliver();
    else this.host.afterOutput(res.thread, res.output, deliver);
  }

  /** A thread died: its goroutines fail with `err`, as calls on a dead thread do. */
  threadGone(threadId: number, err: Error): void {
    this.dead.add(threadId);
    const thread = this.threads.get(threadId);
    if (thread === undefined) return;
    this.threads.delete(threadId);
    thread.channel.close();
    goroutineEnded(this.host.counters, thread.jobs.size);
    for (const job of thread.jobs.values()) job.done(errorOutcome(job.id, err));
    thread.jobs.clear();
    thread.outbox = [];
  }

  close(): void {
    this.closed = true;
    // Never sent: the driver runs them elsewhere (a call the runner did not start).
    for (const job of this.early.splice(0)) job.done(stoppingOutcome(job.id));
    for (const t of this.threads.values()) t.channel.close();
    this.threads.clear();
  }
}
