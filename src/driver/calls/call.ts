import type { Encoded } from "../../protocol/codec.ts";
import { RANK_EXPORT_PREFIX } from "../../protocol/spmd-wire.ts";
import { functionOf } from "../../protocol/function-name.ts";
import type { ModuleRef } from "../bundle.ts";
import type { ObjectEntry, ObjectWaiter, Producer, TaskSpec } from "../objects/object-entry.ts";
import type { ObjectHolder } from "../objects/object-holder.ts";
import { DEFAULT_RETRIES } from "./call-options.ts";

/** The inputs of a call that has none: one array for all of them. */
export const NO_INPUTS: readonly ObjectEntry[] = Object.freeze([]);

/**
 * The runner a call was sent to, as the call sees it: where its result is kept, and
 * where to ask for it to stop. (The scheduler's wider view is RunnerPort.)
 */
export interface CallSite extends ObjectHolder {
  /** Asks the runner to stop the call; its answer still arrives. */
  cancel(call: PendingCall): void;
}

/**
 * What watches calls go by: progress, metrics, traces and the dashboard (driver/observe/).
 * Every call the cluster makes (plain, `f.ref`, goroutines, SPMD ranks, lineage rebuilds)
 * reports here, so a view counts the same calls whichever way they were made. An observer
 * must be cheap and must not throw: these run on the call path. (Beside PendingCall, since
 * each names the other.)
 */
export interface CallObserver {
  /** The call was made (its arguments encoded); it may wait for inputs or a runner. */
  submitted(call: PendingCall): void;
  /** The call went to a runner (`call.link`, `call.lanePort`); again for each resend. */
  sent(call: PendingCall): void;
  /** The call settled for good (retries are not settlements): `error` undefined means it succeeded. */
  settled(call: PendingCall, error: Error | undefined): void;
  /** An SPMD job was asked for (its ranks are calls too, each reported as one). Optional. */
  jobStarted?(job: JobInfo): void;
  /** The job settled: `error` undefined means every rank returned. Optional. */
  jobSettled?(job: JobInfo, error: Error | undefined): void;
}

/**
 * The task graph as a call it holds sees it (task-graph.ts): told when an input the call
 * waits for changes, and when the call settles. One object for every call of the graph,
 * where a closure per call (and one per input waited for) were garbage of every f.ref().
 */
export interface CallGraph {
  inputChanged(call: PendingCall): void;
  settled(call: PendingCall): void;
}

/** An SPMD job as observers see it. */
export interface JobInfo {
  /** Its number among the cluster's jobs, from 1. */
  readonly seq: number;
  readonly size: number;
  /** performance.now() when it was asked for, and when it settled (0: not yet). */
  readonly startedAt: number;
  settledAt: number;
}

/**
 * What few calls use (objects, ranks, actors, goroutines, retries after a loss), kept off
 * PendingCall itself: a burst holds every call at once, and the young-generation GC copies
 * each one that waits. Made on first write.
 */
class CallExtras {
  notStarted = false;
  lostSends = 0;
  unstartedSends = 0;
  avoid: CallSite | undefined;
  lineageDepth = 0;
  fetchedFrom: Map<string, ObjectHolder | undefined> | undefined;
  rank: number | undefined;
  preferLane: number | undefined;
  goroutine = false;
  actorId: string | undefined;
  inlined: Map<string, Uint8Array[]> | undefined;
  whenReady: (() => void) | undefined;
  cleanups: (() => void)[] | undefined;
}

/** One remote call from submission to settlement. */
export class PendingCall implements TaskSpec, Producer, ObjectWaiter {
  id = 0;
  /** The runner it was last sent to (unset again when it is taken back to be resent). */
  link: CallSite | undefined;
  settled = false;
  /** Set while waiting in the scheduler's queue. */
  queued = false;
  /** Times it may be sent again after its runner (or thread connection) was lost. */
  retries = DEFAULT_RETRIES;
  /** Times it was sent (each one an attempt). */
  attempts = 0;
  /**
   * Given a failure, may take the call back to send it again (returns undefined: the call
   * does not settle); otherwise returns the error it settles with (retry-policy.ts).
   */
  retry: ((e: Error, call: PendingCall) => Error | undefined) | undefined;
  /**
   * The cluster's tally of settled calls, counted here rather than by a wrapper around
   * each call's resolve and reject: two closures less per call (see cluster.ts call()).
   */
  counts: { succeeded: number; failed: number } | undefined;
  /** Who watches it (the cluster's observers), told when it is made, sent and settled. */
  observer: CallObserver | undefined;
  /** Its number among the cluster's calls, from 1 (0: not submitted through the cluster). */
  seq = 0;
  /** performance.now() when it was made, last sent, and settled (0: not yet). */
  submittedAt = 0;
  sentAt = 0;
  settledAt = 0;
  /** The port of the runner thread's lane it last went down (undefined: the main link). */
  lanePort: number | undefined;
  /** How long its last run took on the runner, as the runner measured it. */
  execMicros = 0;
  // The three fields of a graph call (every f.ref() and every call given a Ref), here rather
  // than in CallExtras: a graph holds every one of its calls for its life (lineage), and an
  // extras object each (~150 bytes) was GC work of every f.ref() (bench/dag.ts, session 28).
  /** The object its result is kept as (an `f.ref()` call): the result stays on the runner. */
  keep: ObjectEntry | undefined;
  /** Longest chain of calls waiting on this one's result: the scheduler runs the longest first. */
  height = 0;
  /** The task graph holding it (its inputs are pinned and waited for there). */
  graph: CallGraph | undefined;
  /** The rarely used fields below (accessors), made on first write. */
  private x: CallExtras | undefined;

  constructor(
    readonly module: ModuleRef,
    readonly exportName: string,
    readonly args: Encoded,
    /** Has a timeout or signal: the runner must not batch it with others. */
    readonly solo: boolean,
    /** Given the call too, so that one function can serve every call of a kind (no closure per call). */
    private readonly onResolve: (v: unknown, call: PendingCall) => void,
    private readonly onReject: (e: Error, call: PendingCall) => void,
    readonly deps: readonly ObjectEntry[] = NO_INPUTS,
  ) {}

  private get extras(): CallExtras {
    return (this.x ??= new CallExtras());
  }


  /** Its last send was turned away unrun by a stopping runner (retry-policy.ts). */
  get notStarted(): boolean {
    return this.x?.notStarted ?? false;
  }
  set notStarted(v: boolean) {
    if (v || this.x !== undefined) this.extras.notStarted = v;
  }

  /** Sends lost with their runner or thread connection. */
  get lostSends(): number {
    return this.x?.lostSends ?? 0;
  }
  set lostSends(v: number) {
    this.extras.lostSends = v;
  }

  /** Sends its runner answered before starting it: an input it could not fetch, or it was stopping. */
  get unstartedSends(): number {
    return this.x?.unstartedSends ?? 0;
  }
  set unstartedSends(v: number) {
    this.extras.unstartedSends = v;
  }

  /** The runner its last send was lost on: the next goes elsewhere if another runner is live. */
  get avoid(): CallSite | undefined {
    return this.x?.avoid;
  }
  set avoid(v: CallSite | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.avoid = v;
  }

  /** For a call remaking a lost object: how many levels of lineage deep it is (0: the user's call). */
  get lineageDepth(): number {
    return this.x?.lineageDepth ?? 0;
  }
  set lineageDepth(v: number) {
    this.extras.lineageDepth = v;
  }

  /** For each input: the runner it was to be fetched from (undefined: the call's own runner). */
  get fetchedFrom(): Map<string, ObjectHolder | undefined> | undefined {
    return this.x?.fetchedFrom;
  }
  set fetchedFrom(v: Map<string, ObjectHolder | undefined> | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.fetchedFrom = v;
  }

  /** Set for the calls of an SPMD job: the rank it runs as. */
  get rank(): number | undefined {
    return this.x?.rank;
  }
  set rank(v: number | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.rank = v;
  }

  /**
   * go() on a runner thread that would run the child itself (it waits on channels only):
   * that thread's lane, used if the goroutine goes to its runner.
   */
  get preferLane(): number | undefined {
    return this.x?.preferLane;
  }
  set preferLane(v: number | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.preferLane = v;
  }

  /** Started by go() in a remote function: a goroutine, whether or not it holds this driver's channels. */
  get goroutine(): boolean {
    return this.x?.goroutine ?? false;
  }
  set goroutine(v: boolean) {
    if (v || this.x !== undefined) this.extras.goroutine = v;
  }

  /**
   * Holds channels, so it may block on them for long (a goroutine): it does not count
   * against a runner's window, and on the runner it shares a thread instead of holding one.
   */
  get concurrent(): boolean {
    return this.args.chans !== undefined || this.goroutine;
  }

  /**
   * An actor's call (driver/actors/): the actor's id. It goes down its actor thread's connection
   * and waits in the actor's mailbox, not for a thread.
   */
  get actorId(): string | undefined {
    return this.x?.actorId;
  }
  set actorId(v: string | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.actorId = v;
  }

  /** Objects the driver fetched to send inline with this call alone (an actor's thread has no store). */
  get inlined(): Map<string, Uint8Array[]> | undefined {
    return this.x?.inlined;
  }
  set inlined(v: Map<string, Uint8Array[]> | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.inlined = v;
  }

  /**
   * Where the call goes once its inputs exist, instead of the scheduler's ready queue (an
   * actor's calls go to their actor, in order).
   */
  get whenReady(): (() => void) | undefined {
    return this.x?.whenReady;
  }
  set whenReady(v: (() => void) | undefined) {
    if (v !== undefined || this.x !== undefined) this.extras.whenReady = v;
  }

  /** Does not count against a runner's window: a goroutine, or an actor's call. */
  get outsideWindow(): boolean {
    return this.concurrent || this.actorId !== undefined;
  }

  /** Runs through the object graph and the runners' objects, not straight to a thread. */
  get usesObjects(): boolean {
    return this.deps.length > 0 || this.keep !== undefined;
  }

  /** The export name as the runner is told it (a rank's carries the rank prefix). */
  get wireName(): string {
    return this.rank === undefined ? this.exportName : RANK_EXPORT_PREFIX + this.exportName;
  }

  /** The function, as errors name it. */
  get label(): string {
    return this.rank === undefined ? functionOf(this.exportName) : `${this.exportName} (rank ${this.rank})`;
  }

  /** An input it waits for changed state: the graph looks again. */
  objectChanged(): void {
    this.graph?.inputChanged(this);
  }

  /** Runs `cleanup` when the call settles, either way. */
  onSettle(cleanup: () => void): void {
    (this.extras.cleanups ??= []).push(cleanup);
  }

  /** It went to a runner: `link` and `lanePort` say where. */
  markSent(): void {
    this.sentAt = performance.now();
    this.observer?.sent(this);
  }

  resolve(v: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settledAt = performance.now();
    this.cleanUp();
    if (this.counts !== undefined) this.counts.succeeded++;
    this.observer?.settled(this, undefined);
    this.onResolve(v, this);
  }

  reject(e: Error): void {
    if (this.settled) return;
    const final = this.retry === undefined ? e : this.retry(e, this);
    if (final === undefined) return;
    this.settled = true;
    this.settledAt = performance.now();
    this.cleanUp();
    if (this.counts !== undefined) this.counts.failed++;
    this.observer?.settled(this, final);
    this.onReject(final, this);
  }

  private cleanUp(): void {
    const cleanups = this.x?.cleanups;
    if (cleanups !== undefined) for (let i = 0; i < cleanups.length; i++) cleanups[i]!();
    this.graph?.settled(this);
  }
}
