import type { RunnerStats } from "../../protocol/messages.ts";
import type { RunnerUsage, Span } from "../../protocol/activity.ts";
import { functionOf } from "../../protocol/function-name.ts";
import type { ChannelStats } from "../../channels/channel-home.ts";
import type { RunnerActivity } from "../observe/runner-watch.ts";
import type { DriverActor, DriverRunner, RunnerChange } from "./source.ts";

// What the dashboard page shows, kept from two feeds: the runners' activity (every driver's
// work, as spans, counters and usage) and this driver's own calls (made, sent, settled, with
// full errors). No clock and no I/O here: every event brings its time, and `picture` turns
// the state into the JSON the page draws. Memory is bounded: spans of the last `windowMs` (at
// most `maxSpans`), the last `maxErrors` errors, `maxJobs` jobs, `maxFunctions` functions; a
// picture lists at most `maxActors` actors (the busiest), kept nowhere but in the runners' last
// reports and the driver's own list.

export interface ModelLimits {
  /** How far back the task stream goes. */
  windowMs: number;
  maxSpans: number;
  /** Spans one picture carries at most (the newest): a page does not need 100k calls a second drawn. */
  maxSpansPerPicture: number;
  maxErrors: number;
  maxJobs: number;
  maxFunctions: number;
  /** Characters kept of an error's message and stack. */
  maxErrorText: number;
  /** Actors one picture lists (the busiest first), and of those ended, the latest. */
  maxActors: number;
  maxDeadActors: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  windowMs: 120_000, maxSpans: 20_000, maxSpansPerPicture: 4_000, maxErrors: 50, maxJobs: 20, maxFunctions: 500, maxErrorText: 8_000,
  maxActors: 200, maxDeadActors: 20,
};

/** One of this driver's calls, as the observer adapter reports it. */
export interface CallInfo {
  /** Its number among the driver's calls. */
  seq: number;
  /** The exported function. */
  name: string;
  /** Set for the ranks of an SPMD job. */
  rank?: number | undefined;
  /** The runner it was (last) sent to. */
  runner?: string | undefined;
}

/** A failure, as the page shows it. */
export interface ErrorInfo {
  /** "RemoteError: TypeError: boom (in f on runner …)". */
  message: string;
  /** The remote stack where there is one, else the local one; causes appended. */
  stack?: string | undefined;
}

export interface RunnerRow {
  address: string;
  alive: boolean;
  threads: number;
  /** Calls running there now (every driver's; goroutines may make it exceed threads). */
  running: number;
  /** CPU in cores over the last interval; memory in bytes. */
  cpu: number | null;
  rss: number | null;
  heapUsed: number | null;
  objects: number | null;
  objectBytes: number | null;
  objectBytesLimit: number | null;
  calls: number | null;
  failures: number | null;
  workerRestarts: number | null;
  /** Objects fetched from other runners (bytes) and objects served to others. */
  bytesFetched: number | null;
  objectsServed: number | null;
  /** Bytes between this driver and the runner. */
  bytesSent: number;
  bytesReceived: number;
  /** This driver's calls in flight there. */
  inFlight: number;
  uptime: number | null;
  /** Milliseconds since its last report (null: none yet). */
  heardAgoMs: number | null;
}

export interface FunctionRow {
  name: string;
  /** Calls made (this driver's), plus calls of other drivers seen finished on the runners. */
  submitted: number;
  /** Waiting for inputs or a runner / running on one (this driver's calls only). */
  queued: number;
  running: number;
  done: number;
  failed: number;
  /** Mean run time on the runners, from spans (null: none seen). */
  meanMs: number | null;
}

export interface ErrorRow {
  /** When it was heard, ms since the epoch (this host's clock). */
  at: number;
  function: string;
  runner: string | null;
  rank: number | null;
  message: string;
  stack: string | null;
  /** "call": this driver's call (full error); "runner": seen in a runner's span (any driver: code and message only); "cluster": a runner lost or back. */
  source: "call" | "runner" | "cluster";
}

export interface ChannelRow {
  id: string;
  capacity: number;
  buffered: number;
  blockedSenders: number;
  blockedReceivers: number;
  closed: boolean;
  broken: boolean;
}

export interface RankRow {
  rank: number;
  runner: string | null;
  state: "queued" | "running" | "done" | "failed";
  error: string | null;
}

export interface JobRow {
  id: number;
  function: string;
  size: number;
  state: "running" | "done" | "failed";
  started: number;
  ended: number | null;
  ranks: RankRow[];
}

export type ActorState = "starting" | "alive" | "restarting" | "dead";

export interface ActorRow {
  id: string;
  className: string;
  name: string | null;
  /** Where it lives (null: nowhere yet, starting or restarting). */
  runner: string | null;
  /** As this driver knows it for its own and those it holds handles to; "alive" for others' actors a runner reports. */
  state: ActorState;
  /** From its runner's last report (null: none lists it: not placed yet, ended, or beyond the runner's bound). */
  mailbox: number | null;
  running: number | null;
  calls: number | null;
  /** Times it was started again after its runner or thread was lost. */
  restarts: number;
  /** This driver's calls to it not sent yet (null: not one this driver calls). */
  queued: number | null;
  /** Spawned by this driver. */
  mine: boolean;
}

/**
 * A span on the page: [seq, runner, thread, name, start ms, duration ms, ok, error]. Start is
 * on this host's clock (the runner's, shifted by the offset measured from its reports).
 */
export type SpanRow = [seq: number, runner: string, thread: number, name: string, start: number, dur: number, ok: boolean, error: string | null];

export interface Picture {
  /** When it was taken, ms since the epoch. */
  at: number;
  windowMs: number;
  /** This driver's calls are heard (an embedded dashboard), not only the runners' spans. */
  calls: boolean;
  runners: RunnerRow[];
  functions: FunctionRow[];
  errors: ErrorRow[];
  channels: ChannelRow[];
  jobs: JobRow[];
  /** The busiest actors (deepest mailboxes first), at most `maxActors`. */
  actors: ActorRow[];
  /** Actors alive in all: what the runners count (their reports list only their busiest), and this driver's not on any of them. */
  actorCount: number;
  /** Calls waiting in the mailboxes of all of them. */
  actorMailbox: number;
  /** Spans after the one the viewer had (`since`), oldest first. */
  spans: SpanRow[];
  /** The last span's seq: the viewer's next `since`. */
  lastSpan: number;
  /** Spans the runners left out, and spans newer than `since` this picture left out (too many). */
  droppedSpans: number;
  skippedSpans: number;
}

interface RunnerState {
  address: string;
  stats: RunnerStats | undefined;
  usage: RunnerUsage | undefined;
  heardAt: number;
  /** Reports heard: the first one's CPU is measured over no time at all, and not shown. */
  reports: number;
  /** Add to a runner timestamp (ms) to get this host's: the smallest (receipt − sent) seen. */
  offsetMs: number | undefined;
}

interface FunctionState extends Omit<FunctionRow, "meanMs"> {
  /** Finished calls of other drivers, seen in spans. */
  othersDone: number;
  othersFailed: number;
  spanCount: number;
  spanMicros: number;
  touched: number;
}

interface LiveCall {
  fn: FunctionState;
  sent: boolean;
  job: JobState | undefined;
}

interface JobState {
  id: number;
  function: string;
  started: number;
  ended: number | null;
  ranks: RankRow[];
}

const ACTOR_STATES: ReadonlySet<string> = new Set<ActorState>(["starting", "alive", "restarting", "dead"]);
const actorState = (s: string): ActorState => (ACTOR_STATES.has(s) ? (s as ActorState) : "alive");

/** Cuts text to `max` characters, saying so. */
const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters)`);

/** The function a span names (a rank's and an actor's carry a prefix on the wire). */
export const spanFunction = functionOf;

export class DashboardModel {
  private readonly runners = new Map<string, RunnerState>();
  private readonly functions = new Map<string, FunctionState>();
  private readonly live = new Map<number, LiveCall>();
  private readonly errors: ErrorRow[] = [];
  private readonly jobs: JobState[] = [];
  /** Spans in arrival order; `head` is the first one kept. */
  private spans: SpanRow[] = [];
  private head = 0;
  private spanSeq = 0;
  private jobSeq = 0;
  /** Bumped whenever a function is used: the least recently used goes first. */
  private touch = 0;
  private dropped = 0;
  /** Whether this driver's calls are reported (observe). */
  private hearsCalls = false;

  /**
   * `self`: this driver's owner id, whose spans are its own calls (already counted through
   * the call events, with their full errors); undefined for a dashboard that makes no calls.
   */
  constructor(
    private readonly limits: ModelLimits = DEFAULT_LIMITS,
    private readonly self?: string,
  ) {}

  // ---- the runners' activity

  heard(a: RunnerActivity, receivedAt: number): void {
    const r = this.runner(a.runner);
    r.stats = a.stats;
    r.usage = a.usage;
    r.heardAt = receivedAt;
    r.reports++;
    const offset = receivedAt - a.at / 1000;
    r.offsetMs = r.offsetMs === undefined ? offset : Math.min(r.offsetMs, offset);
    this.dropped += a.dropped;
    for (const s of a.spans) this.span(a.runner, s, r.offsetMs, receivedAt);
    this.trim(receivedAt);
  }

  private span(runner: string, s: Span, offsetMs: number, at: number): void {
    // The task stream shows calls. Waits, fetches and collectives happen inside calls (or on
    // the runner's main thread): drawn over their call they would hide it; traces show them.
    if (s.kind !== "call") return;
    const name = spanFunction(s.name);
    this.spans.push([++this.spanSeq, runner, s.thread, name, s.start / 1000 + offsetMs, s.dur / 1000, s.ok, s.error]);
    const fn = this.fn(name);
    const calls = s.count ?? 1; // a merged span stands for several calls (RunnerWatch mergeMicros)
    fn.spanCount += calls;
    fn.spanMicros += s.busy ?? s.dur;
    const mine = this.self !== undefined && this.hearsCalls && s.owner === this.self;
    if (mine) return; // counted, and its error kept in full, by the call events
    if (s.ok) fn.othersDone += calls;
    else {
      fn.othersFailed++;
      this.error({ at, function: name, runner, rank: null, message: s.error ?? "failed", stack: null, source: "runner" });
    }
  }

  runnerChanged(e: RunnerChange, at: number): void {
    this.runner(e.address);
    const message = e.type === "lost" ? `runner lost: ${e.error?.message ?? "(no reason)"}` : e.type === "left" ? "runner left" : "runner joined";
    this.error({ at, function: "", runner: e.address, rank: null, message, stack: null, source: "cluster" });
  }

  // ---- this driver's calls

  submitted(c: CallInfo, at: number): void {
    this.hearsCalls = true;
    const fn = this.fn(c.name);
    fn.submitted++;
    fn.queued++;
    let job: JobState | undefined;
    if (c.rank !== undefined) {
      // A job's ranks are made together, rank 0 first (spmd.ts): rank 0 opens a job.
      job = c.rank === 0 ? this.openJob(c.name, at) : this.openedLast(c.name, c.rank);
      job?.ranks.push({ rank: c.rank, runner: null, state: "queued", error: null });
    }
    this.live.set(c.seq, { fn, sent: false, job });
  }

  sent(c: CallInfo, _at: number): void {
    const l = this.live.get(c.seq);
    if (l === undefined) return;
    if (!l.sent) {
      l.sent = true;
      l.fn.queued--;
      l.fn.running++;
    }
    const rank = this.rankOf(l, c);
    if (rank !== undefined) {
      rank.runner = c.runner ?? null;
      rank.state = "running";
    }
  }

  settled(c: CallInfo, error: ErrorInfo | undefined, at: number): void {
    const l = this.live.get(c.seq);
    if (l === undefined) return;
    this.live.delete(c.seq);
    if (l.sent) l.fn.running--;
    else l.fn.queued--;
    if (error === undefined) l.fn.done++;
    else l.fn.failed++;
    const rank = this.rankOf(l, c);
    if (rank !== undefined) {
      rank.state = error === undefined ? "done" : "failed";
      rank.error = error === undefined ? null : cut(error.message, 500);
      if (c.runner !== undefined) rank.runner = c.runner;
      const job = l.job!;
      if (job.ranks.every((x) => x.state === "done" || x.state === "failed")) job.ended = at;
    }
    if (error !== undefined) {
      const stack = error.stack === undefined ? null : cut(error.stack, this.limits.maxErrorText);
      this.error({ at, function: c.name, runner: c.runner ?? null, rank: c.rank ?? null, message: cut(error.message, this.limits.maxErrorText), stack, source: "call" });
    }
  }

  /** The latest job of `name` waiting for its rank `rank`. */
  private openedLast(name: string, rank: number): JobState | undefined {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const j = this.jobs[i]!;
      if (j.function === name && j.ranks.length === rank) return j;
    }
    return undefined;
  }

  private rankOf(l: LiveCall, c: CallInfo): RankRow | undefined {
    return c.rank === undefined ? undefined : l.job?.ranks.find((x) => x.rank === c.rank);
  }

  private openJob(name: string, at: number): JobState {
    const job: JobState = { id: ++this.jobSeq, function: name, started: at, ended: null, ranks: [] };
    this.jobs.push(job);
    // Finished jobs go first; a job still running is kept.
    while (this.jobs.length > this.limits.maxJobs) {
      const i = this.jobs.findIndex((j) => j.ended !== null);
      this.jobs.splice(i === -1 ? 0 : i, 1);
    }
    return job;
  }

  // ---- the picture

  /**
   * What the page shows now. `driver`: the runners as this driver sees them (alive, threads,
   * its traffic); `channels`: those homed here; `since`: the last span the viewer has;
   * `actors`: those this driver spawned or holds handles to.
   */
  picture(now: number, driver: readonly DriverRunner[], channels: readonly ChannelStats[], since = 0, actors: readonly DriverActor[] = []): Picture {
    this.trim(now);
    const known = new Map(driver.map((d) => [d.address, d]));
    const addresses = [...new Set([...driver.map((d) => d.address), ...this.runners.keys()])];
    const runners = addresses.map((address): RunnerRow => {
      const d = known.get(address);
      const r = this.runners.get(address);
      const s = r?.stats;
      const u = r?.usage;
      return {
        address, alive: d?.alive ?? (r !== undefined && now - r.heardAt < 10_000), threads: u?.threads ?? d?.threads ?? 0, running: u?.running ?? 0,
        cpu: r !== undefined && r.reports > 1 ? u?.cpu ?? null : null, rss: u?.rss ?? null, heapUsed: u?.heapUsed ?? null,
        objects: s?.objects ?? null, objectBytes: s?.objectBytes ?? null, objectBytesLimit: s?.objectBytesLimit ?? null,
        calls: s?.calls ?? null, failures: s?.failures ?? null, workerRestarts: s?.workerRestarts ?? null,
        bytesFetched: s?.objectBytesFetched ?? null, objectsServed: s?.objectsServed ?? null,
        bytesSent: d?.bytesSent ?? 0, bytesReceived: d?.bytesReceived ?? 0, inFlight: d?.inFlight ?? 0,
        uptime: u?.uptime ?? null, heardAgoMs: r === undefined || r.heardAt === 0 ? null : Math.max(0, now - r.heardAt),
      };
    });
    const functions = [...this.functions.values()]
      .filter((f) => f.submitted + f.othersDone + f.othersFailed + f.spanCount > 0)
      .sort((a, b) => b.touched - a.touched || a.name.localeCompare(b.name))
      .map((f): FunctionRow => ({
        name: f.name,
        submitted: f.submitted + f.othersDone + f.othersFailed,
        queued: f.queued, running: f.running,
        done: f.done + f.othersDone, failed: f.failed + f.othersFailed,
        meanMs: f.spanCount === 0 ? null : f.spanMicros / f.spanCount / 1000,
      }));
    const act = this.actors(runners, actors);
    // Seqs increase along the array: the first one after `since`, by bisection.
    let from = this.head;
    let to = this.spans.length;
    while (from < to) {
      const mid = (from + to) >>> 1;
      if (this.spans[mid]![0] <= since) from = mid + 1;
      else to = mid;
    }
    const skipped = Math.max(0, this.spans.length - from - this.limits.maxSpansPerPicture);
    const spans = this.spans.slice(from + skipped);
    return {
      at: now, windowMs: this.limits.windowMs, calls: this.hearsCalls, runners, functions,
      errors: [...this.errors].reverse(),
      channels: channels.map((c) => ({
        id: c.id, capacity: c.capacity, buffered: c.buffered, blockedSenders: c.waitingSenders, blockedReceivers: c.waitingReceivers, closed: c.closed, broken: c.broken,
      })),
      jobs: [...this.jobs].reverse().map((j): JobRow => ({
        id: j.id, function: j.function, size: j.ranks.length, started: j.started, ended: j.ended, ranks: j.ranks.map((r) => ({ ...r })),
        state: j.ranks.some((r) => r.state === "failed") ? "failed" : j.ended === null ? "running" : "done",
      })),
      actors: act.rows, actorCount: act.count, actorMailbox: act.mailbox,
      spans, lastSpan: this.spanSeq, droppedSpans: this.dropped, skippedSpans: skipped,
    };
  }

  /**
   * The actors: what the live runners last listed of theirs (mailboxes, calls), joined by id
   * with what this driver knows of its own and of those it holds handles to (its state is
   * fresher: a kill or a loss is known here before the runner's next report).
   */
  private actors(runners: readonly RunnerRow[], mine: readonly DriverActor[]): { rows: ActorRow[]; count: number; mailbox: number } {
    const rows = new Map<string, ActorRow>();
    const reporting = new Set<string>();
    let count = 0;
    let mailbox = 0;
    for (const row of runners) {
      const s = this.runners.get(row.address)?.stats;
      if (!row.alive || s?.actors == null) continue;
      reporting.add(row.address);
      count += s.actorCount ?? s.actors.length;
      mailbox += s.actorMailbox ?? s.actors.reduce((n, a) => n + a.mailbox, 0);
      for (const a of s.actors) {
        rows.set(a.id, {
          id: a.id, className: a.className, name: a.name, runner: row.address, state: "alive", mailbox: a.mailbox, running: a.running, calls: a.calls,
          restarts: a.incarnation, queued: null, mine: false,
        });
      }
    }
    const dead: ActorRow[] = [];
    for (const d of mine) {
      const state = actorState(d.state);
      const r = rows.get(d.id);
      if (state !== "dead" && (d.runner === undefined || !reporting.has(d.runner))) count++;
      if (r !== undefined) {
        r.state = state;
        r.restarts = Math.max(r.restarts, d.restarts);
        r.queued = d.queued;
        r.mine = d.owned;
        continue;
      }
      const row: ActorRow = {
        id: d.id, className: d.className, name: d.name ?? null, runner: state === "alive" ? d.runner ?? null : null, state,
        mailbox: null, running: null, calls: null, restarts: d.restarts, queued: d.queued, mine: d.owned,
      };
      // The driver keeps what it knew of every actor that ended: the latest few are shown.
      if (state === "dead") {
        dead.push(row);
        if (dead.length > this.limits.maxDeadActors) dead.shift();
      } else rows.set(d.id, row);
    }
    const order: Record<ActorState, number> = { restarting: 0, starting: 1, alive: 2, dead: 3 };
    const live = [...rows.values()].sort((a, b) => order[a.state] - order[b.state] || (b.mailbox ?? 0) - (a.mailbox ?? 0)
      || (b.running ?? 0) - (a.running ?? 0) || (b.calls ?? 0) - (a.calls ?? 0) || a.className.localeCompare(b.className) || a.id.localeCompare(b.id));
    return { rows: [...live, ...dead.reverse()].slice(0, this.limits.maxActors), count, mailbox };
  }

  // ---- bounds

  private runner(address: string): RunnerState {
    let r = this.runners.get(address);
    if (r === undefined) {
      r = { address, stats: undefined, usage: undefined, heardAt: 0, reports: 0, offsetMs: undefined };
      this.runners.set(address, r);
    }
    return r;
  }

  private fn(name: string): FunctionState {
    let f = this.functions.get(name);
    if (f === undefined) {
      f = { name, submitted: 0, queued: 0, running: 0, done: 0, failed: 0, othersDone: 0, othersFailed: 0, spanCount: 0, spanMicros: 0, touched: ++this.touch };
      this.functions.set(name, f);
      if (this.functions.size > this.limits.maxFunctions) this.forgetFunction();
    }
    f.touched = ++this.touch;
    return f;
  }

  /** The least recently touched function with no call in flight goes. */
  private forgetFunction(): void {
    let oldest: FunctionState | undefined;
    for (const f of this.functions.values()) {
      if (f.queued + f.running > 0) continue;
      if (oldest === undefined || f.touched < oldest.touched) oldest = f;
    }
    if (oldest !== undefined) this.functions.delete(oldest.name);
  }

  private error(e: ErrorRow): void {
    this.errors.push(e);
    if (this.errors.length > this.limits.maxErrors) this.errors.splice(0, this.errors.length - this.limits.maxErrors);
  }

  private trim(now: number): void {
    const oldest = now - this.limits.windowMs;
    while (this.head < this.spans.length) {
      const s = this.spans[this.head]!;
      if (this.spans.length - this.head > this.limits.maxSpans || s[4] + s[5] < oldest) this.head++;
      else break;
    }
    // Compact once half the array is dead: amortised O(1) per span.
    if (this.head > 1024 && this.head * 2 > this.spans.length) {
      this.spans = this.spans.slice(this.head);
      this.head = 0;
    }
  }
}
