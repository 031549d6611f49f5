import { ClusterClosedError, RunnerLostError } from "../../errors.ts";
import type { ObjectHolder } from "../objects/object-holder.ts";
import type { CallSite, PendingCall } from "./call.ts";
import { placeGoroutine } from "./goroutine-placement.ts";
import { QueuedCall } from "./queued-call.ts";
import { ReadyQueue } from "./ready-queue.ts";
import { RunnerHeap, type HeapSlot } from "./runner-heap.ts";
import type { RunnerPort } from "./runner-port.ts";
import { RunnerWait, type Waiter } from "./runner-wait.ts";

// The cost model that places calls with object inputs (as Dask's "earliest start"):
// time until a thread is free there, plus time to bring the inputs it lacks.
/** One runner-to-runner fetch round trip, in microseconds. */
const FETCH_LATENCY_US = 200;
/** Assumed runner-to-runner bandwidth, bytes per microsecond (1 GB/s). */
const BYTES_PER_US = 1000;

/** Time until a thread is free for one more call on `l`, in microseconds. */
function queueMicros(l: RunnerPort): number {
  return (Math.max(0, l.inFlight + 1 - l.threads) * l.execMicros) / l.threads;
}

interface Member {
  readonly port: RunnerPort;
  /** Join order: of two runners equally good, the earlier one is taken. */
  readonly seq: number;
  /** Its places in the three heaps. */
  readonly free: HeapSlot;
  readonly wait: HeapSlot;
  readonly load: HeapSlot;
}

/**
 * Decides which runner gets a call: the one with the most free threads among those
 * whose window has room. Calls wait here, in order, while every window is full;
 * a finished call pulls the next one. No polling.
 *
 * Calls of the task graph (object inputs or kept results) wait in a ready queue ranked
 * by critical path, ahead of plain calls, and go where their inputs cost least to reach.
 * Calls sent again after their runner was lost go first of all.
 *
 * The runners stand in three heaps (runner-heap.ts), so a placement costs O(log n) in
 * the number of runners, not a scan: by free threads (plain calls), by time until a
 * thread frees (graph calls: that heap's best, plus the runners holding an input), and by
 * load (goroutines; it also says whether any runner is usable).
 *
 * With no usable runner, what is handed over waits for one (`waitForRunners` ms, each
 * from when it began to wait; runner-wait.ts), then fails with NoRunnersError; a runner
 * that joins ends every wait at once. With `waitForRunners` 0, it fails at once instead.
 */
export class Scheduler {
  private readonly members = new Map<ObjectHolder, Member>();
  private joined = 0;
  private readonly byFree = new RunnerHeap({ belongs: (r) => r.hasRoom, a: (r) => r.inFlight - r.threads, b: () => 0 });
  private readonly byWait = new RunnerHeap({ belongs: (r) => r.hasRoom, a: queueMicros, b: (r) => r.inFlight });
  private readonly byLoad = new RunnerHeap({ belongs: (r) => r.usable, a: (r) => r.inFlight / r.threads, b: () => 0 });
  /**
   * Plain calls in order; slots the head has passed are emptied. Withdrawn calls stay until it
   * passes them. A QueuedCall (queued-call.ts) is made into its PendingCall as it leaves.
   */
  private queue: (PendingCall | QueuedCall | undefined)[] = [];
  private head = 0;
  /** Calls marked `queued`, in whichever list holds them. */
  private count = 0;
  private readonly ready = new ReadyQueue();
  /** Graph calls made ready in the current task: ranked when it ends. */
  private arriving: PendingCall[] = [];
  /** Calls sent before and lost, waiting to go again: ahead of everything else. */
  private retrying: PendingCall[] = [];
  private readonly wait: RunnerWait;
  /** The clocks of calls and goroutines waiting for a runner. */
  private readonly clocks = new Map<PendingCall, Waiter>();
  /** Goroutines waiting for a usable runner (never for a window). */
  private readonly goroutines = new Set<PendingCall>();
  /** No runner was usable when last looked: what waits runs a clock. */
  private stranded = true;
  private closed = false;

  /**
   * @param waitForRunners ms a call waits for a usable runner (0: fails at once).
   * @param make makes a QueuedCall's PendingCall (the cluster's: it encodes the arguments and
   * counts the call in); needed only by those who hand over QueuedCalls.
   */
  constructor(waitForRunners: number, private readonly make?: (q: QueuedCall) => PendingCall) {
    this.wait = new RunnerWait(waitForRunners);
  }

  /** Calls waiting in the driver: for room in a window, for their turn, or for a runner. */
  get queued(): number {
    return this.count + this.goroutines.size;
  }

  /** Heap keys compared so far: what the placement bench and its unit test count. */
  get comparisons(): number {
    return this.byFree.comparisons + this.byWait.comparisons + this.byLoad.comparisons;
  }

  /** Runners that may take work: connected and not stopping (a runner being failed is no longer live). */
  get liveRunners(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.port.usable) n++;
    return n;
  }

  /** A call handed over now would reach a runner or wait for one (false: it would fail for want of one). */
  get willPlace(): boolean {
    return !this.closed && (this.wait.ms > 0 || this.byLoad.top() !== undefined);
  }

  /** Resolves once a runner is usable (at once if one is); rejects as a call waiting for one would fail. */
  whenLive(operation: string): Promise<void> {
    if (this.closed) return Promise.reject(new ClusterClosedError(operation));
    if (this.byLoad.top() !== undefined) return Promise.resolve();
    if (this.wait.ms === 0) return Promise.reject(new RunnerLostError("(none)", "no runners in the cluster"));
    this.refreshStranded();
    return new Promise((resolve, reject) => {
      this.wait.start(operation, (err) => (err === undefined ? resolve() : reject(err)));
    });
  }

  /**
   * A graph call whose inputs exist. It waits for the end of the current task, so calls
   * created together (a loop building a DAG) are ranked before any of them is sent.
   */
  submitReady(call: PendingCall): void {
    if (this.refused(call, "(none)", "no runners in the cluster")) return;
    if (call.attempts > 0) return this.resubmit(call);
    this.enqueue(this.arriving, call);
    if (this.arriving.length === 1) {
      queueMicrotask(() => {
        // Ranks are final only now: a call's rank grows as later calls in the same task
        // name its result (a heap key cannot change once pushed).
        for (const c of this.arriving.splice(0)) if (c.queued) this.ready.push(c);
        this.pump();
      });
    }
  }

  /** A runner joined (at the start, later, or again after a loss): queued calls go to it at once. */
  add(link: RunnerPort): void {
    if (this.closed || this.members.has(link)) return;
    const seq = this.joined++;
    const m = { port: link, seq, free: this.byFree.slot(link, seq), wait: this.byWait.slot(link, seq), load: this.byLoad.slot(link, seq) };
    this.members.set(link, m);
    this.index(m);
    this.refreshStranded();
    this.pump();
  }

  remove(link: RunnerPort): void {
    const m = this.members.get(link);
    if (m === undefined) return;
    this.members.delete(link);
    this.byFree.delete(m.free);
    this.byWait.delete(m.wait);
    this.byLoad.delete(m.load);
    if (this.wait.ms === 0 && this.members.size === 0) return this.failQueued(() => new RunnerLostError(link.address, "no runners left"));
    this.refreshStranded();
    this.pump();
  }

  submit(call: PendingCall): void {
    if (call.concurrent) return this.go(call);
    if (this.count === 0) {
      const link = this.byFree.top();
      if (link !== undefined && !this.closed) {
        link.send(call);
        return;
      }
    }
    if (this.refused(call, "(none)", "no runners in the cluster")) return;
    this.enqueue(this.queue, call);
  }

  /**
   * Whether a plain call handed over now would wait in the queue behind others, with a runner
   * usable and no clock to run: then it may be handed over as a QueuedCall (submitQueued).
   */
  get queueing(): boolean {
    return this.count > 0 && !this.closed && this.make !== undefined && !(this.stranded && this.wait.ms > 0) && this.members.size > 0;
  }

  /** A plain call that waits behind others (only while `queueing`): made into its PendingCall as it is sent. */
  submitQueued(q: QueuedCall): void {
    this.count++;
    this.queue.push(q);
  }

  /**
   * A call whose last send was lost (retry-policy.ts). It goes before calls not sent yet,
   * and to a runner other than the one that lost it while another is live (waiting for room
   * there rather than going back): a runner that lost a thread may be about to lose the rest.
   */
  resubmit(call: PendingCall): void {
    if (this.refused(call, call.avoid?.address ?? "(none)", "no runners left")) return;
    this.enqueue(this.retrying, call);
    this.pump();
  }

  /** Takes a call out of the queue (timeout or cancel before it was sent). */
  withdraw(call: PendingCall): void {
    if (this.goroutines.delete(call)) this.stopClock(call);
    if (call.queued) this.take(call); // a graph call is skipped when it reaches the head of the ready queue
  }

  /** A call finished there, or its window grew: it may take more. */
  slotFreed(link: RunnerPort): void {
    const m = this.members.get(link);
    if (m !== undefined) {
      this.index(m);
      if (!link.usable) this.refreshStranded(); // it is stopping: perhaps the last usable one
    }
    this.pump();
  }

  /** The cluster is closing: whatever waits here fails with ClusterClosedError, and so does anything handed over later. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wait.fail((operation) => new ClusterClosedError(operation));
    this.failQueued((c) => new ClusterClosedError(c.label));
  }

  /** Fails the call at once if it cannot wait: the cluster is closed, or it has no runner and must not wait. */
  private refused(call: PendingCall, runner: string, reason: string): boolean {
    if (this.closed) call.reject(new ClusterClosedError(call.label));
    else if (this.members.size === 0 && this.wait.ms === 0) call.reject(new RunnerLostError(runner, reason));
    else return false;
    return true;
  }

  /**
   * A goroutine waits on channels as long as it likes: it must never wait for a window,
   * or the calls it waits for could queue behind it. The least loaded usable runner takes
   * it; with none, it waits for one.
   */
  private go(call: PendingCall): void {
    if (this.closed) return call.reject(new ClusterClosedError(call.label));
    const link = this.byLoad.top();
    if (link !== undefined) return link.send(call);
    if (this.wait.ms === 0) return call.reject(new RunnerLostError("(none)", "no runners in the cluster"));
    this.refreshStranded();
    this.goroutines.add(call);
    this.clocks.set(call, this.wait.start(call.label, (err) => {
      this.clocks.delete(call);
      if (!this.goroutines.delete(call)) return;
      if (err === undefined) this.go(call);
      else call.reject(err);
    }));
  }

  /**
   * A goroutine that a call on `home` started (go() in a remote function): on that runner
   * unless it is busy (goroutine-placement.ts), else on the least loaded; with no usable
   * runner, it waits for one as other goroutines do. O(log n): the load heap's top and `home`.
   */
  goFrom(call: PendingCall, home: RunnerPort): void {
    if (this.closed) return call.reject(new ClusterClosedError(call.label));
    const link = placeGoroutine(this.members.get(home)?.port, this.byLoad.top(), call.preferLane !== undefined);
    if (link === undefined) return this.go(call);
    link.send(call);
  }

  private enqueue(list: (PendingCall | QueuedCall | undefined)[], call: PendingCall): void {
    call.queued = true;
    this.count++;
    list.push(call);
    this.refreshStranded();
    if (this.stranded && this.wait.ms > 0) this.startClock(call);
  }

  /** The call leaves the queues (sent, withdrawn, failed). */
  private take(call: PendingCall): void {
    call.queued = false;
    this.count--;
    if (this.clocks.size > 0) this.stopClock(call);
  }

  /** Whether a queued call is to be skipped: withdrawn, or settled some other way. */
  private gone(call: PendingCall): boolean {
    if (!call.queued) return true;
    if (!call.settled) return false;
    this.take(call);
    return true;
  }

  private startClock(call: PendingCall): void {
    if (this.clocks.has(call)) return;
    this.clocks.set(call, this.wait.start(call.label, (err) => {
      this.clocks.delete(call);
      if (err === undefined || !call.queued) return; // a runner came: the pump sends it
      this.take(call);
      call.reject(err);
    }));
  }

  private stopClock(call: PendingCall): void {
    const w = this.clocks.get(call);
    if (w === undefined) return;
    this.clocks.delete(call);
    this.wait.cancel(w);
  }

  /**
   * Looks again whether any runner is usable. Losing the last one starts the clock of
   * every queued call (calls that waited for a window until then wait for a runner now);
   * gaining one stops every clock, and what waited goes on.
   */
  private refreshStranded(): void {
    if (this.wait.ms === 0) return;
    const stranded = this.byLoad.top() === undefined;
    if (stranded === this.stranded) return;
    this.stranded = stranded;
    if (!stranded) return this.wait.end();
    this.makeQueued();
    for (const c of [...this.retrying, ...this.ready.calls(), ...this.queue.slice(this.head), ...this.arriving]) {
      if (c !== undefined && !(c instanceof QueuedCall) && c.queued) this.startClock(c);
    }
  }

  /** Puts the runner in the heaps at its current keys (a new runner, or a slot given back). */
  private index(m: Member): void {
    this.byFree.update(m.free);
    this.byWait.update(m.wait);
    this.byLoad.update(m.load);
  }

  private pump(): void {
    if (this.closed) return;
    if (this.retrying.length > 0) this.pumpRetrying();
    while (this.ready.size > 0) {
      const call = this.ready.peek()!;
      if (this.gone(call)) {
        this.ready.pop();
        continue;
      }
      const link = this.placeFor(call);
      if (link === undefined) return;
      this.ready.pop();
      this.take(call);
      link.send(call);
    }
    while (this.head < this.queue.length) {
      const call = this.queue[this.head]!;
      const queued = call instanceof QueuedCall;
      if (!queued && this.gone(call)) {
        this.queue[this.head++] = undefined;
        continue;
      }
      const link = this.byFree.top();
      if (link === undefined) break;
      this.queue[this.head++] = undefined;
      if (queued) {
        this.count--;
        link.send(this.make!(call));
      } else {
        this.take(call);
        link.send(call);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Sends the lost calls that can go now; the others keep their order. */
  private pumpRetrying(): void {
    if (this.byFree.top() === undefined) return;
    // Whether a call can go depends only on the runner it avoids (room elsewhere, or there):
    // once one avoiding it is stuck, so are the rest in this round.
    const stuck = new Set<CallSite | undefined>();
    const waiting: PendingCall[] = [];
    for (const call of this.retrying) {
      if (this.gone(call)) continue;
      const link = stuck.has(call.avoid) ? undefined : call.usesObjects ? this.placeFor(call) : this.pick(call.avoid);
      if (link === undefined) {
        stuck.add(call.avoid);
        waiting.push(call);
        continue;
      }
      this.take(call);
      link.send(call);
    }
    this.retrying = waiting;
  }

  /** The runner with the most free threads among those with room (not `avoid`, unless it alone is live). */
  private pick(avoid: CallSite | undefined): RunnerPort | undefined {
    const me = avoid === undefined ? undefined : this.members.get(avoid);
    if (me === undefined) return this.byFree.top();
    const other = this.byFree.topExcept(me.free);
    if (other !== undefined || this.byLoad.topExcept(me.load) !== undefined) return other;
    return me.port.hasRoom ? me.port : undefined;
  }

  /**
   * The runner where the call could start soonest, counting the inputs it would have to
   * fetch. Runners holding none of its inputs all fetch the same bytes, so the best of them
   * is the one whose thread frees soonest (the top of `byWait`); the others worth a look are
   * the holders of its inputs. The same choice as costing every runner, in O(k + log n)
   * for k copies of its inputs: a holder always fetches less than a non-holder.
   */
  private placeFor(call: PendingCall): RunnerPort | undefined {
    const lost = call.avoid === undefined ? undefined : this.members.get(call.avoid);
    const skip = lost !== undefined && this.byLoad.topExcept(lost.load) !== undefined ? lost : undefined;
    const avoid = skip?.port;
    const soonest = skip === undefined ? this.byWait.top() : this.byWait.topExcept(skip.wait);
    const deps = call.deps;
    // Every input here, inline (small results, the common case in a graph): every runner
    // costs the same to reach them, so the soonest free is the one, with no list to build.
    let held = false;
    for (let i = 0; i < deps.length && !held; i++) held = deps[i]!.inline === undefined;
    if (!held) return soonest;
    const candidates: Member[] = [];
    if (soonest !== undefined) candidates.push(this.members.get(soonest)!);
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i]!;
      if (d.inline !== undefined) continue;
      for (const h of d.holders) {
        const m = this.members.get(h);
        if (m !== undefined && m.port !== avoid && m.port.hasRoom) candidates.push(m);
      }
    }
    let best: Member | undefined;
    let bestCost = Infinity;
    for (let c = 0; c < candidates.length; c++) {
      const m = candidates[c]!;
      const l = m.port;
      let cost = queueMicros(l);
      let missing = -1;
      for (let i = 0; i < deps.length; i++) {
        const d = deps[i]!;
        if (d.inline === undefined && !d.holdsOn(l)) missing += d.bytes + 1;
      }
      if (missing >= 0) cost += FETCH_LATENCY_US + missing / BYTES_PER_US;
      // Ties go to fewer calls in flight, then to the earlier runner (as a scan in join order would).
      if (best === undefined || cost < bestCost || (cost === bestCost && (l.inFlight < best.port.inFlight || (l.inFlight === best.port.inFlight && m.seq < best.seq)))) {
        best = m;
        bestCost = cost;
      }
    }
    return best?.port;
  }

  /**
   * Makes the QueuedCalls still in the queue into queued PendingCalls, in place: before what
   * needs them whole (clocks when the last runner goes, failing them all).
   */
  private makeQueued(): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const q = this.queue[i];
      if (!(q instanceof QueuedCall)) continue;
      const call = this.make!(q);
      call.queued = true;
      this.queue[i] = call;
    }
  }

  private failQueued(error: (call: PendingCall) => Error): void {
    this.makeQueued();
    const calls = [...this.retrying.splice(0), ...this.queue.slice(this.head), ...this.ready.drain(), ...this.arriving.splice(0)];
    this.queue = [];
    this.head = 0;
    for (const c of calls) {
      if (c === undefined || c instanceof QueuedCall || !c.queued) continue;
      this.take(c);
      c.reject(error(c));
    }
  }
}
