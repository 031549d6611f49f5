import { ObjectLostError } from "../../errors.ts";
import { isActorOp } from "../../protocol/actor-wire.ts";
import { PendingCall, type CallGraph, type CallObserver } from "./call.ts";
import type { Kept, ObjectEntry, Producer } from "../objects/object-entry.ts";
import type { ObjectTable } from "../objects/object-table.ts";
import type { RetryPolicy } from "./retry-policy.ts";
import type { Scheduler } from "./scheduler.ts";

/** A probe's arguments: it is never sent. */
const NO_ARGS = { body: new Uint8Array(0), attachments: [] };

/** Times one object may be remade from its lineage. */
const MAX_REBUILDS = 3;
/**
 * How far back lineage is followed: remaking an object whose inputs are lost too remakes
 * those first, and so on, up to this many levels; deeper, the read fails with
 * ObjectLostError rather than re-running an unbounded history.
 */
export const MAX_LINEAGE_DEPTH = 32;

/**
 * Calls that read objects or keep their result: each waits until its inputs exist, then
 * goes to the scheduler's ready queue (no level barriers: a call starts as soon as its
 * own inputs are done). Inputs lost with a runner are remade by re-running the task
 * that made them; calls that lost an input or a runner on the way are sent again as the
 * retry policy allows, once their inputs exist again.
 */
export class TaskGraph implements CallGraph {
  /** Calls that only wait for their inputs (cluster.get), and what to do then. */
  private readonly probes = new WeakMap<PendingCall, () => void>();

  constructor(
    private readonly table: ObjectTable,
    private readonly scheduler: Scheduler,
    private readonly retries: RetryPolicy,
    /** Told of the calls that remake lost objects, as the cluster tells it of the user's. */
    private readonly observer?: CallObserver,
  ) {}

  /** Resolves once the object can be had (remaking it if need be); rejects if it cannot. */
  whenExists(entry: ObjectEntry): Promise<void> {
    if (entry.available) return Promise.resolve();
    if (entry.state === "failed") return Promise.reject(entry.error!);
    // Still being made: wait for its next change of state and look again. A program that
    // gets every Ref of a 1,000-task graph waits here 1,000 times at once; a probe call per
    // wait (below) cost the driver ~20 µs per get (bench/dag.ts), this a closure.
    if (entry.state === "pending") return new Promise<void>((resolve) => entry.onChange(resolve)).then(() => this.whenExists(entry));
    // Missing: a no-op call with the object as its input does the waiting and the remaking.
    return new Promise<void>((resolve, reject) => {
      const probe = new PendingCall({ ref: 0, hash: "" }, "(get)", NO_ARGS, false, () => {}, reject, [entry]);
      this.probes.set(probe, resolve);
      this.submit(probe);
    });
  }

  /** Takes a call in: pins its inputs until it settles and ranks the calls it waits on. */
  add(call: PendingCall): void {
    const deps = call.deps;
    this.table.pin(deps);
    call.graph = this; // unpins them when it settles (`settled`)
    call.retry = this.retryGraph;
    // Indexed loops on this path: `for...of` over the inputs allocated an iterator result per
    // step where V8 did not optimize it away (~3 MB per 1,000-task graph, bench/dag.ts).
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i]!;
      if (d.state === "pending" && d.producer !== undefined && d.producer.height < 1) raise(d.producer, 1);
    }
    this.submit(call);
  }

  /** CallGraph: the input `call` waited for changed. */
  inputChanged(call: PendingCall): void {
    this.submit(call);
  }

  /** CallGraph: `call` settled; its inputs may be freed. */
  settled(call: PendingCall): void {
    this.table.unpin(call.deps);
  }

  /** Sends the call on when every input exists; otherwise waits for (or remakes) the first missing one. */
  private submit(call: PendingCall): void {
    if (call.settled) return;
    const deps = call.deps;
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i]!;
      switch (d.state) {
        case "failed":
          return fail(call, d.error!);
        case "pending":
          // A probe has no graph of its own (it is never added): a closure for it.
          if (call.graph === this) d.onChange(call);
          else d.onChange(() => this.submit(call));
          return;
        case "ready":
          if (d.available) continue;
          break; // every copy died with its runner
        case "freed":
          break;
      }
      // Missing: remake it if its lineage allows, else the call fails.
      const why = d.task === undefined
        ? (d.released ? "released before the call could read it" : "every runner holding it was lost, and an object from put() cannot be remade")
        : isActorOp(d.task.exportName) ? "every runner holding it was lost, and an actor method's result cannot be remade (the actor's state has moved on)"
        : d.rebuilds >= MAX_REBUILDS ? `remade ${d.rebuilds} times already`
          : call.lineageDepth >= MAX_LINEAGE_DEPTH ? `remaking it would follow lineage deeper than ${MAX_LINEAGE_DEPTH} levels` : undefined;
      if (why !== undefined) return fail(call, new ObjectLostError(d.id, why));
      this.rebuild(d, call.lineageDepth + 1);
      // Look again rather than wait: the remake may already have failed (synchronously,
      // deeper down its own lineage), and a failed object announces nothing more.
      return this.submit(call);
    }
    if (call.whenReady !== undefined) return call.whenReady();
    const probe = this.probes.get(call);
    if (probe === undefined) return this.scheduler.submitReady(call);
    this.probes.delete(call);
    probe();
  }

  /** Runs an object's task again; the object is pending until it is done. */
  private rebuild(entry: ObjectEntry, depth: number): void {
    const spec = entry.task!;
    this.table.rebuilding(entry);
    const call = new PendingCall(spec.module, spec.exportName, spec.args, false,
      (kept) => this.table.made(entry, call.link!, kept as Kept),
      (err) => this.table.failed(entry, err),
      spec.deps);
    call.retries = spec.retries;
    call.keep = entry;
    call.lineageDepth = depth;
    entry.producer = call;
    call.height = 1;
    this.observer?.submitted(call);
    this.add(call);
  }

  /**
   * A failed send, judged by the retry policy. A call taken back waits for its inputs
   * again (remaking any lost meanwhile) before it is sent.
   */
  private readonly retryGraph = (e: Error, call: PendingCall): Error | undefined => this.retry(call, e);

  private retry(call: PendingCall, e: Error): Error | undefined {
    const dep = e instanceof ObjectLostError ? call.deps.find((d) => d.id === e.objectId) : undefined;
    const from = dep === undefined ? undefined : call.fetchedFrom?.get(dep.id) ?? call.link;
    const final = this.retries.take(call, e, () => this.submit(call));
    // The runner that was to provide the input does not have it (any more).
    if (final === undefined && from !== undefined) dep!.holders.delete(from);
    return final;
  }
}

/**
 * How far up a new call's rank is carried. Exact ranks would cost O(depth) per new call,
 * O(n²) for a chain built before it runs (20,000 calls: 12 s); ranks only order the calls
 * ready at one time, and "at least 64 calls wait on this one" is enough to put it first.
 */
const RANK_REACH = 64;

// The walk's stack, as two arrays kept from call to call: a [task, height] pair per step
// allocated ~2.3 KB per f.ref() of the 1,000-task graph (bench/dag.ts: each new task walks
// ~100 ancestors up), the largest allocation of building it, and with it GC work.
const stackTasks: (Producer | undefined)[] = [];
const stackHeights: number[] = [];

/** Raises the rank of a task and of the unfinished tasks it waits on (up to RANK_REACH levels). */
function raise(task: Producer, height: number): void {
  let n = 0;
  stackTasks[n] = task;
  stackHeights[n++] = height;
  while (n > 0) {
    const t = stackTasks[--n]!;
    const h = stackHeights[n]!;
    stackTasks[n] = undefined; // let a finished graph's calls be collected
    if (t.height >= h || t.settled) continue;
    t.height = h;
    if (h - height >= RANK_REACH) continue;
    const deps = t.deps;
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i]!;
      if (d.state === "pending" && d.producer !== undefined) {
        stackTasks[n] = d.producer;
        stackHeights[n++] = h + 1;
      }
    }
  }
}

function fail(call: PendingCall, err: Error): void {
  call.retry = undefined;
  call.reject(err);
}
