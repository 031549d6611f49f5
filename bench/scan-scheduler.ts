// The scheduler as it was before its heaps (revision b37b4c1), kept as the peer of
// bench/placement.ts: it scans every runner for each call placed, O(n). Only the class
// name and the imports changed.
import { RunnerLostError } from "../src/errors.ts";
import type { CallSite, PendingCall } from "../src/driver/calls/call.ts";
import { ReadyQueue } from "../src/driver/calls/ready-queue.ts";
import type { RunnerPort } from "../src/driver/calls/runner-port.ts";

// The cost model that places calls with object inputs (as Dask's "earliest start"):
// time until a thread is free there, plus time to bring the inputs it lacks.
/** One runner-to-runner fetch round trip, in microseconds. */
const FETCH_LATENCY_US = 200;
/** Assumed runner-to-runner bandwidth, bytes per microsecond (1 GB/s). */
const BYTES_PER_US = 1000;

/**
 * Decides which runner gets a call: the one with the most free threads among those
 * whose window has room. Calls wait here, in order, while every window is full;
 * a finished call pulls the next one. No timers, no polling.
 *
 * Calls of the task graph (object inputs or kept results) wait in a ready queue ranked
 * by critical path, ahead of plain calls, and go where their inputs cost least to reach.
 * Calls sent again after their runner was lost go first of all.
 */
export class ScanScheduler {
  private links: RunnerPort[] = [];
  private queue: (PendingCall | undefined)[] = [];
  private head = 0;
  /** Calls withdrawn from `queue` (timeout, cancel) whose empty slots the head has not passed yet. */
  private gaps = 0;
  private readonly ready = new ReadyQueue();
  /** Graph calls made ready in the current task: ranked when it ends. */
  private arriving: PendingCall[] = [];
  /** Calls sent before and lost, waiting to go again: ahead of everything else. */
  private retrying: PendingCall[] = [];

  get queued(): number {
    return this.queue.length - this.head - this.gaps + this.ready.size + this.arriving.length + this.retrying.length;
  }

  /** Runners that may take work: connected and not stopping (a runner being failed is no longer live). */
  get liveRunners(): number {
    let n = 0;
    for (const l of this.links) if (l.usable) n++;
    return n;
  }

  /**
   * A graph call whose inputs exist. It waits for the end of the current task, so calls
   * created together (a loop building a DAG) are ranked before any of them is sent.
   */
  submitReady(call: PendingCall): void {
    if (this.links.length === 0) {
      call.reject(new RunnerLostError("(none)", "no runners in the cluster"));
      return;
    }
    if (call.attempts > 0) return this.resubmit(call);
    call.queued = true;
    this.arriving.push(call);
    if (this.arriving.length === 1) {
      queueMicrotask(() => {
        // Ranks are final only now: a call's rank grows as later calls in the same task
        // name its result (a heap key cannot change once pushed).
        for (const c of this.arriving.splice(0)) this.ready.push(c);
        this.pump();
      });
    }
  }

  add(link: RunnerPort): void {
    this.links.push(link);
    this.pump();
  }

  remove(link: RunnerPort): void {
    this.links = this.links.filter((l) => l !== link);
    if (this.links.length === 0) this.failQueued(new RunnerLostError(link.address, "no runners left"));
    else this.pump();
  }

  submit(call: PendingCall): void {
    if (call.concurrent) {
      // A goroutine waits on channels as long as it likes: it must never wait for a window,
      // or the calls it waits for could queue behind it. The least loaded live runner takes it.
      const link = this.leastLoaded();
      if (link === undefined) call.reject(new RunnerLostError("(none)", "no runners in the cluster"));
      else link.send(call);
      return;
    }
    if (this.queued === 0) {
      const link = this.pick();
      if (link !== undefined) {
        link.send(call);
        return;
      }
    }
    if (this.links.length === 0) {
      call.reject(new RunnerLostError("(none)", "no runners in the cluster"));
      return;
    }
    call.queued = true;
    this.queue.push(call);
  }

  /**
   * A call whose last send was lost (retry-policy.ts). It goes before calls not sent yet,
   * and to a runner other than the one that lost it while another is live (waiting for room
   * there rather than going back): a runner that lost a thread may be about to lose the rest.
   */
  resubmit(call: PendingCall): void {
    if (this.links.length === 0) {
      call.reject(new RunnerLostError(call.avoid?.address ?? "(none)", "no runners left"));
      return;
    }
    call.queued = true;
    this.retrying.push(call);
    this.pump();
  }

  /** Takes a call out of the queue (timeout or cancel before it was sent). */
  withdraw(call: PendingCall): void {
    if (!call.queued) return;
    call.queued = false; // a graph call is skipped when it reaches the head of the ready queue
    const i = this.queue.indexOf(call, this.head);
    if (i >= 0) {
      this.queue[i] = undefined;
      this.gaps++;
    }
    const j = this.retrying.indexOf(call);
    if (j >= 0) this.retrying.splice(j, 1);
  }

  slotFreed(_link: RunnerPort): void {
    this.pump();
  }

  private pump(): void {
    if (this.retrying.length > 0) this.pumpRetrying();
    while (this.ready.size > 0) {
      const call = this.ready.peek()!;
      if (call.settled || !call.queued) {
        this.ready.pop();
        continue;
      }
      const link = this.placeFor(call);
      if (link === undefined) return;
      this.ready.pop();
      call.queued = false;
      link.send(call);
    }
    while (this.head < this.queue.length) {
      const call = this.queue[this.head];
      if (call === undefined || call.settled) {
        if (call === undefined) this.gaps--;
        this.queue[this.head++] = undefined;
        continue;
      }
      const link = this.pick();
      if (link === undefined) break;
      this.queue[this.head++] = undefined;
      call.queued = false;
      link.send(call);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Sends the lost calls that can go now; the others keep their order. */
  private pumpRetrying(): void {
    if (!this.links.some((l) => l.hasRoom)) return;
    // Whether a call can go depends only on the runner it avoids (room elsewhere, or there):
    // once one avoiding it is stuck, so are the rest in this round.
    const stuck = new Set<CallSite | undefined>();
    const waiting: PendingCall[] = [];
    for (const call of this.retrying) {
      if (call.settled || !call.queued) continue;
      const link = stuck.has(call.avoid) ? undefined : call.usesObjects ? this.placeFor(call) : this.pick(call.avoid);
      if (link === undefined) {
        stuck.add(call.avoid);
        waiting.push(call);
        continue;
      }
      call.queued = false;
      link.send(call);
    }
    this.retrying = waiting;
  }

  private leastLoaded(): RunnerPort | undefined {
    let best: RunnerPort | undefined;
    for (const l of this.links) if (l.usable && (best === undefined || l.inFlight / l.threads < best.inFlight / best.threads)) best = l;
    return best;
  }

  /** The runner with the most free threads among those with room (not `avoid`, unless it alone is live). */
  private pick(avoid?: CallSite): RunnerPort | undefined {
    if (avoid !== undefined && !this.othersLive(avoid)) {
      const only = this.links.find((l) => l === avoid);
      return only?.hasRoom === true ? only : undefined;
    }
    let best: RunnerPort | undefined;
    let bestFree = -Infinity;
    for (const l of this.links) {
      if (!l.hasRoom || l === avoid) continue;
      const free = l.threads - l.inFlight;
      if (free > bestFree) {
        best = l;
        bestFree = free;
      }
    }
    return best;
  }

  /** The runner where the call could start soonest, counting the inputs it would have to fetch. */
  private placeFor(call: PendingCall): RunnerPort | undefined {
    const avoid = call.avoid !== undefined && this.othersLive(call.avoid) ? call.avoid : undefined;
    let best: RunnerPort | undefined;
    let bestCost = Infinity;
    for (const l of this.links) {
      if (!l.hasRoom || l === avoid) continue;
      let cost = (Math.max(0, l.inFlight + 1 - l.threads) * l.execMicros) / l.threads;
      let missing = -1;
      for (const d of call.deps) if (d.inline === undefined && !d.holdsOn(l)) missing += d.bytes + 1;
      if (missing >= 0) cost += FETCH_LATENCY_US + missing / BYTES_PER_US;
      if (cost < bestCost || (cost === bestCost && best !== undefined && l.inFlight < best.inFlight)) {
        best = l;
        bestCost = cost;
      }
    }
    return best;
  }

  /** Whether a runner other than `link` is live. */
  private othersLive(link: CallSite): boolean {
    return this.links.some((l) => l !== link && l.usable);
  }

  private failQueued(err: Error): void {
    const calls = [...this.retrying.splice(0), ...this.queue.slice(this.head), ...this.ready.drain(), ...this.arriving.splice(0)];
    this.queue = [];
    this.head = 0;
    this.gaps = 0;
    for (const c of calls) c?.reject(err);
  }
}
