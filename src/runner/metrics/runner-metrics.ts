import type { Logger } from "pino";
import type { RunnerStats } from "../../protocol/messages.ts";
import { BATCH_BUCKETS, RUNNER } from "../../protocol/metrics/catalogue.ts";
import { MetricsEndpoint, type MetricsAddress } from "../../protocol/metrics/endpoint.ts";
import { render, Samples } from "../../protocol/metrics/exposition.ts";
import { addCalls, addCounts, addHistograms, Histo, type CountsSnapshot } from "../../protocol/metrics/tally.ts";
import type { ExecutorMetrics } from "../executor.ts";
import type { LaneRegistry } from "../lane-registry.ts";
import { ThreadChannel, type ThreadMetricsSnapshot, type ToMainThread, type ToWorkerThreads } from "../thread-messages.ts";
import { ActorGauges } from "./actor-gauges.ts";
import { ByteMeter, PEER_KINDS } from "./byte-meter.ts";

/** What the runner's state says at a scrape, beyond what its threads counted. */
export interface RunnerReadings {
  stats: RunnerStats;
  threads: number;
  /** Main-port sessions by peer kind. */
  sessions: CountsSnapshot;
  storeRefusals: number;
  /** The store's spilling, since the runner started. */
  spill: { bytes: number; batches: number; restoredBytes: number };
}

/**
 * How long a scrape waits for the threads' counts. A thread busy with a long synchronous
 * call cannot answer; its last answer stands in (counts are totals, so they are only late).
 */
const THREAD_ANSWER_MS = 250;

const CHAN_OPS = ["send", "recv", "select", "close"] as const;

const emptyThread = (): ThreadMetricsSnapshot => ({ calls: {}, chanOps: {}, collectives: {}, received: {}, sent: {} });

function addThread(into: ThreadMetricsSnapshot, from: ThreadMetricsSnapshot): void {
  addCalls(into.calls, from.calls);
  addCounts(into.chanOps, from.chanOps);
  addHistograms(into.collectives, from.collectives);
  addCounts(into.received, from.received);
  addCounts(into.sent, from.sent);
}

/**
 * A runner's metrics, on its main thread: what the main thread counts itself (batches,
 * queue waits, bytes of the main port and of peer runners), what its state says when asked
 * (store, sessions, in flight...), and what the worker threads counted, asked for over the
 * runner's channel of threads at each scrape and summed. A thread that dies leaves its
 * last answer behind, so totals never go down.
 */
export class RunnerMetrics implements ExecutorMetrics {
  /** Main-port sessions (drivers, runners fetching from us) and our fetches from other runners. */
  readonly bytes = new ByteMeter();
  private readonly batches = new Histo(BATCH_BUCKETS);
  private readonly waits = new Histo();
  /** Each live thread's last answer, and the round it answered. */
  private readonly answers = new Map<number, { round: number; snapshot: ThreadMetricsSnapshot }>();
  /** What threads that are gone had counted. */
  private readonly retired = emptyThread();
  private readonly channel: ThreadChannel<ToWorkerThreads, ToMainThread> | undefined;
  private readonly actorGauges = new ActorGauges();
  private round = 0;
  private roundDone: (() => void) | undefined;
  private endpoint: MetricsEndpoint | undefined;

  constructor(private readonly read: () => RunnerReadings, private readonly lanes: LaneRegistry | undefined) {
    if (lanes === undefined) return;
    const channel = (this.channel = ThreadChannel.main(lanes.channelName));
    channel.listen((m) => {
      if (m.kind !== "metrics-report" || !lanes.threadIds.includes(m.threadId)) return;
      this.answers.set(m.threadId, { round: m.request, snapshot: m.snapshot });
      if (m.request === this.round && this.allAnswered()) this.roundDone?.();
    });
    lanes.onThreadGone((id) => {
      const a = this.answers.get(id);
      this.answers.delete(id);
      if (a !== undefined) addThread(this.retired, a.snapshot);
      if (this.allAnswered()) this.roundDone?.();
    });
  }

  /** Serves /metrics on `spec`; resolves with the address it listens on. */
  async listen(spec: MetricsAddress, opts: { secret?: string | undefined; log?: Logger } = {}): Promise<string> {
    this.endpoint = await MetricsEndpoint.start(spec, { render: () => this.render(), secret: opts.secret, log: opts.log });
    return this.endpoint.address;
  }

  get address(): string | undefined {
    return this.endpoint?.address;
  }

  batch(calls: number): void {
    this.batches.observe(calls);
  }

  queueWait(seconds: number): void {
    this.waits.observe(seconds);
  }

  private allAnswered(): boolean {
    return this.lanes === undefined || this.lanes.threadIds.every((id) => this.answers.get(id)?.round === this.round);
  }

  /** Asks every thread for its counts; resolves when all answered, or after THREAD_ANSWER_MS. */
  private async ask(): Promise<ThreadMetricsSnapshot> {
    if (this.channel !== undefined) {
      const round = ++this.round;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          if (this.round === round) this.roundDone = undefined;
          resolve();
        };
        const timer = setTimeout(done, THREAD_ANSWER_MS);
        this.roundDone = done;
        this.channel!.post({ kind: "metrics-request", request: round });
      });
    }
    const total = emptyThread();
    addThread(total, this.retired);
    for (const a of this.answers.values()) addThread(total, a.snapshot);
    return total;
  }

  async render(): Promise<string> {
    // The actor threads are asked as the others are, with the same bound (a busy one's last answer stands in).
    const [threads, actors] = await Promise.all([this.ask(), this.lanes?.hasActorThreads === true ? this.lanes.actorStats(THREAD_ANSWER_MS) : []]);
    const r = this.read();
    const s = new Samples();
    const main = this.bytes.snapshot();
    addCounts(main.received, threads.received);
    addCounts(main.sent, threads.sent);
    s.calls(RUNNER.calls, threads.calls);
    s.value(RUNNER.inFlight, r.stats.inFlight);
    s.value(RUNNER.goroutines, r.stats.goroutines);
    s.histogram(RUNNER.queueWait, [[{}, this.waits.snapshot()]]);
    s.histogram(RUNNER.batchSize, [[{}, this.batches.snapshot()]]);
    s.value(RUNNER.threads, r.threads);
    s.counts(RUNNER.sessions, r.sessions, ["driver", "runner"]);
    s.counts(RUNNER.bytesReceived, main.received, PEER_KINDS);
    s.counts(RUNNER.bytesSent, main.sent, PEER_KINDS);
    s.value(RUNNER.storeBytes, r.stats.objectBytes);
    s.value(RUNNER.storeObjects, r.stats.objects);
    s.value(RUNNER.storeBudget, r.stats.objectBytesLimit);
    s.value(RUNNER.storeRefusals, r.storeRefusals);
    s.value(RUNNER.spilledObjects, r.stats.objectsSpilled ?? 0);
    s.value(RUNNER.spilledBytes, r.stats.objectBytesSpilled ?? 0);
    s.value(RUNNER.spills, r.stats.spills ?? 0);
    s.value(RUNNER.spillBytes, r.spill.bytes);
    s.value(RUNNER.spillBatches, r.spill.batches);
    s.value(RUNNER.restores, r.stats.restores ?? 0);
    s.value(RUNNER.restoredBytes, r.spill.restoredBytes);
    s.value(RUNNER.fetches, r.stats.objectFetches);
    s.value(RUNNER.fetchedBytes, r.stats.objectBytesFetched);
    s.value(RUNNER.served, r.stats.objectsServed);
    s.counts(RUNNER.channelOps, threads.chanOps, CHAN_OPS);
    s.value(RUNNER.channelOpsRelayed, r.stats.channelOpsRelayed);
    s.histogram(RUNNER.collectiveDuration, Object.entries(threads.collectives).map(([op, h]) => [{ op }, h] as const));
    s.value(RUNNER.workerRestarts, r.stats.workerRestarts);
    s.value(RUNNER.codeFetches, r.stats.codeFetches);
    s.value(RUNNER.codeBytes, r.stats.codeBytesReceived);
    s.value(RUNNER.moduleLoads, r.stats.codeLoads);
    s.value(RUNNER.wasmCompiles, r.stats.wasmCompiles ?? 0);
    const a = this.actorGauges.read(actors);
    s.counts(RUNNER.actors, a.actors, a.known);
    s.counts(RUNNER.actorMailbox, a.mailbox, a.known);
    s.counts(RUNNER.actorCallsRunning, a.running, a.known);
    return render(s);
  }

  async close(): Promise<void> {
    this.roundDone?.();
    this.channel?.close();
    await this.endpoint?.close();
  }
}
