import type { Logger } from "pino";
import { StrandError } from "../../errors.ts";
import { functionOf } from "../../protocol/function-name.ts";
import { DRIVER } from "../../protocol/metrics/catalogue.ts";
import { MetricsEndpoint, type MetricsAddress } from "../../protocol/metrics/endpoint.ts";
import { render, Samples } from "../../protocol/metrics/exposition.ts";
import { CallTally, Histo } from "../../protocol/metrics/tally.ts";
import type { CallObserver, JobInfo } from "../calls/call.ts";
import type { PendingCall } from "../calls/call.ts";

/** What the driver's metrics read of their cluster (the Cluster, seen from this room). */
export interface MetricsSubject {
  observe(observer: CallObserver): () => void;
  on(event: "runner", listener: (event: { type: "lost" | "left" | "joined"; address: string }) => void): unknown;
  off(event: "runner", listener: (event: { type: "lost" | "left" | "joined"; address: string }) => void): unknown;
  readonly runners: readonly { address: string; alive: boolean; bytesSent: number; bytesReceived: number }[];
  readonly stats: {
    resent: number; queued: number; objects: number; objectBytes: number; codeBytesSent: number; channels: readonly unknown[];
    actors: readonly { state: string; restarts: number; owned: boolean }[];
  };
}

/** The actor states the driver's gauge has a series for (dead ones are not counted: they are gone). */
const ACTOR_STATES = ["starting", "alive", "restarting"] as const;

/** A total read from state that may drop (a link replaced after a loss): reported so that it never goes down. */
class Monotonic {
  private base = 0;
  private last = 0;

  read(v: number): number {
    if (v < this.last) this.base += this.last - v;
    this.last = v;
    return this.base + v;
  }
}

/** The code a failed call is counted under: a Strand error's own (RemoteError: ERR_STRAND_REMOTE), else "other". */
const errorCode = (err: Error): string => (err instanceof StrandError ? err.code : "other");

/**
 * A driver's Prometheus metrics: a call observer counting calls by function (made, settled,
 * failed by error code, duration from making to settling), their wait before the first
 * send, calls in flight, SPMD jobs; plus what the cluster says when scraped (runners, bytes,
 * objects, channels). Counting is plain arithmetic on the call path (protocol/metrics/tally.ts).
 */
export class DriverMetrics implements CallObserver {
  private readonly calls = new CallTally();
  private readonly queueWait = new Histo();
  private readonly jobDuration = new Histo();
  private inFlight = 0;
  private jobsStarted = 0;
  private jobsFailed = 0;
  private lost = 0;
  private joined = 0;
  /** Bytes of links lost at each address; addresses whose listed link is one of those. */
  private readonly gone = new Map<string, { sent: number; received: number }>();
  private readonly folded = new Set<string>();
  private readonly resent = new Monotonic();
  private readonly codeBytes = new Monotonic();
  private readonly objectBytes = new Monotonic();
  private readonly actorRestarts = new Monotonic();
  private readonly stopObserving: () => void;
  private endpoint: MetricsEndpoint | undefined;

  private readonly onRunner = (e: { type: "lost" | "left" | "joined"; address: string }): void => {
    if (e.type === "joined") {
      this.joined++;
      this.folded.delete(e.address);
      return;
    }
    if (e.type === "lost") this.lost++; // one that left said goodbye: not a loss
    // The lost link is still listed until a new one takes its place: keep what it carried.
    const r = this.subject.runners.find((x) => x.address === e.address && !x.alive);
    if (r === undefined || this.folded.has(e.address)) return;
    const g = this.gone.get(e.address) ?? { sent: 0, received: 0 };
    this.gone.set(e.address, { sent: g.sent + r.bytesSent, received: g.received + r.bytesReceived });
    this.folded.add(e.address);
  };

  private constructor(private readonly subject: MetricsSubject) {
    this.stopObserving = subject.observe(this);
    subject.on("runner", this.onRunner);
  }

  /** Starts counting `subject`'s calls, serving nothing (`render()` gives the exposition). */
  static observe(subject: MetricsSubject): DriverMetrics {
    return new DriverMetrics(subject);
  }

  /** Starts counting `subject`'s calls and serves /metrics on `spec`. */
  static async start(subject: MetricsSubject, spec: MetricsAddress, opts: { secret?: string | undefined; log?: Logger } = {}): Promise<DriverMetrics> {
    const m = new DriverMetrics(subject);
    try {
      m.endpoint = await MetricsEndpoint.start(spec, { render: () => m.render(), secret: opts.secret, log: opts.log });
    } catch (err) {
      await m.close();
      throw err;
    }
    return m;
  }

  /** Where /metrics is served. */
  get address(): string | undefined {
    return this.endpoint?.address;
  }

  submitted(call: PendingCall): void {
    this.inFlight++;
    // An actor's calls are named Class.method (their export name holds the actor's id: a label per actor would be unbounded).
    this.calls.started(functionOf(call.exportName));
  }

  sent(call: PendingCall): void {
    if (call.attempts === 1) this.queueWait.observe((call.sentAt - call.submittedAt) / 1000);
  }

  settled(call: PendingCall, error: Error | undefined): void {
    this.inFlight--;
    this.calls.settled(functionOf(call.exportName), (call.settledAt - call.submittedAt) / 1000, error === undefined ? undefined : errorCode(error));
  }

  jobStarted(_job: JobInfo): void {
    this.jobsStarted++;
  }

  jobSettled(job: JobInfo, error: Error | undefined): void {
    if (error !== undefined) this.jobsFailed++;
    this.jobDuration.observe((job.settledAt - job.startedAt) / 1000);
  }

  /** The exposition: these counts, the cluster's state, and the process's metrics. */
  render(): Promise<string> {
    const stats = this.subject.stats;
    const runners = this.subject.runners;
    let sent = 0;
    let received = 0;
    for (const g of this.gone.values()) {
      sent += g.sent;
      received += g.received;
    }
    let alive = 0;
    for (const r of runners) {
      if (r.alive) alive++;
      if (this.folded.has(r.address)) continue;
      sent += r.bytesSent;
      received += r.bytesReceived;
    }
    const s = new Samples();
    s.calls(DRIVER.calls, this.calls.snapshot());
    s.histogram(DRIVER.queueWait, [[{}, this.queueWait.snapshot()]]);
    s.value(DRIVER.inFlight, Math.max(0, this.inFlight));
    s.value(DRIVER.queued, stats.queued);
    s.value(DRIVER.resent, this.resent.read(stats.resent));
    s.counts(DRIVER.runners, { alive, lost: runners.length - alive });
    s.value(DRIVER.runnersLost, this.lost);
    s.value(DRIVER.runnersJoined, this.joined);
    s.value(DRIVER.bytesSent, sent);
    s.value(DRIVER.bytesReceived, received);
    s.value(DRIVER.codeBytes, this.codeBytes.read(stats.codeBytesSent));
    s.value(DRIVER.objects, stats.objects);
    s.value(DRIVER.objectBytes, this.objectBytes.read(stats.objectBytes));
    s.value(DRIVER.channels, stats.channels.length);
    s.value(DRIVER.jobsStarted, this.jobsStarted);
    s.value(DRIVER.jobsFailed, this.jobsFailed);
    s.histogram(DRIVER.jobDuration, [[{}, this.jobDuration.snapshot()]]);
    const actors: Record<string, number> = {};
    let restarts = 0;
    for (const a of stats.actors) {
      if (a.state !== "dead") actors[a.state] = (actors[a.state] ?? 0) + 1;
      if (a.owned) restarts += a.restarts;
    }
    s.counts(DRIVER.actors, actors, ACTOR_STATES);
    s.value(DRIVER.actorRestarts, this.actorRestarts.read(restarts));
    return render(s);
  }

  async close(): Promise<void> {
    this.stopObserving();
    this.subject.off("runner", this.onRunner);
    await this.endpoint?.close();
  }
}
