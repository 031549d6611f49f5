import { threadId } from "node:worker_threads";
import { StrandError } from "../../errors.ts";
import { CallTally, Histo } from "../../protocol/metrics/tally.ts";
import { ThreadChannel, type ThreadMetricsSnapshot } from "../thread-messages.ts";
import { ByteMeter } from "./byte-meter.ts";

// Runs on a worker thread: what the thread counts for the runner's metrics (calls by
// function, channel operations, collectives, bytes of its own connections), in plain
// numbers, and its answer when the main thread asks during a scrape. Off (undefined)
// unless the runner serves metrics: then the call path pays one `undefined` check.

export class ThreadMetrics {
  readonly calls = new CallTally();
  readonly bytes = new ByteMeter();
  private readonly chanOps: Record<string, number> = {};
  private readonly collectives = new Map<string, Histo>();

  chanOp(op: string): void {
    this.chanOps[op] = (this.chanOps[op] ?? 0) + 1;
  }

  collective(op: string, seconds: number): void {
    let h = this.collectives.get(op);
    if (h === undefined) this.collectives.set(op, (h = new Histo()));
    h.observe(seconds);
  }

  snapshot(): ThreadMetricsSnapshot {
    return {
      calls: this.calls.snapshot(),
      chanOps: { ...this.chanOps },
      collectives: Object.fromEntries([...this.collectives].map(([op, h]) => [op, h.snapshot()])),
      ...this.bytes.snapshot(),
    };
  }
}

/** This thread's counts, when the runner serves metrics. */
export let threadMetrics: ThreadMetrics | undefined;

/** Starts counting, and answers the main thread's requests on the runner's channel of threads. */
export function startThreadMetrics(channelName: string): void {
  const metrics = (threadMetrics = new ThreadMetrics());
  const channel = ThreadChannel.worker(channelName);
  channel.listen((m) => {
    if (m.kind === "metrics-request") channel.post({ kind: "metrics-report", threadId, request: m.request, snapshot: metrics.snapshot() });
  });
}

/** The code a failed call is counted under: a Strand error's own, else ERR_STRAND_REMOTE (the user's code threw). */
export function errorCode(err: unknown): string {
  return err instanceof StrandError ? err.code : "ERR_STRAND_REMOTE";
}

/**
 * Times the collectives of `proto` (a communicator's prototype) into the thread's metrics.
 * Installed once; with metrics off each collective pays one `undefined` check.
 */
export function timeCollectives(proto: object, ops: readonly string[]): void {
  const target = proto as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const op of ops) {
    const f = target[op]!;
    target[op] = function timed(this: unknown, ...args: unknown[]): Promise<unknown> {
      const m = threadMetrics;
      if (m === undefined) return f.apply(this, args);
      const t0 = performance.now();
      const done = (): void => m.collective(op, (performance.now() - t0) / 1000);
      return f.apply(this, args).finally(done);
    };
  }
}
