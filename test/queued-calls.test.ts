import { afterAll, describe, expect, it } from "vitest";
import { Cluster, ClusterClosedError, local, RunnerLostError, type CallObserver } from "../src/index.ts";
import type { PendingCall } from "../src/driver/calls/call.ts";
import { fixture, kill9, RestartableRunners, RunnerEvents, silentLogger } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");

// A plain call issued while others wait for room in a window waits as a QueuedCall (its
// arguments unencoded when they are a few short primitives) and is made into its PendingCall
// as it is sent (driver/calls/queued-call.ts). Every call must still reach its own caller with
// its own arguments, be counted, be failed by a close and wait out a lost runner as before.
// A burst of 5,000 on one runner thread (window at most 1,024) holds thousands queued.
const N = 5000;
/** Where runner processes are started or restarted by the test itself: slow on a loaded machine. */
const SLOW = 90_000;

/** Arguments of every kind a queued call may keep unencoded, and some it may not (-0, a long string, many). */
function argsOf(i: number): unknown[] {
  switch (i % 9) {
    case 0: return [];
    case 1: return [i];
    case 2: return [`s${i}`, i / 7];
    case 3: return [true, false, null, undefined];
    case 4: return [-0]; // encoded at once: the codec's walk keeps -0
    case 5: return ["z".repeat(2000 + (i % 7))]; // over the unencoded string limit
    case 6: return Array.from({ length: 100 }, (_, k) => k + i); // over the unencoded argument count
    case 7: return [Number.MAX_SAFE_INTEGER - i, -i, 2 ** 40 + 0.5];
    default: return [undefined];
  }
}

describe("calls queued behind a full window", () => {
  const t = useCluster<{ m: M }>({ runners: 1, threads: 1 }, { m: "math.ts" });

  it("a burst of calls with every kind of primitive arguments: each caller gets its own arguments back, all counted", async () => {
    const before = t.cluster.stats;
    const echo = t.m.echo as unknown as (...args: unknown[]) => Promise<unknown>;
    const calls = Array.from({ length: N }, (_, i) => {
      const args = argsOf(i);
      // echo returns its first argument; a rest array of all of them through `add` would need numbers
      return echo(...args).then((v) => [v, args[0]]);
    });
    expect(t.cluster.stats.queued).toBeGreaterThan(N / 2); // most of them wait in the driver
    for (const [got, want] of await Promise.all(calls)) expect(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))).toBe(true);
    const after = t.cluster.stats;
    expect(after.calls - before.calls).toBe(N);
    expect(after.succeeded - before.succeeded).toBe(N);
    expect(after.queued).toBe(0);
  });

  it("an observer started mid-burst hears queued calls sent and settled, numbered and timed from when they were made", async () => {
    const t0 = performance.now();
    const calls = Array.from({ length: N }, (_, i) => t.m.add(i, 1));
    const seen: { seq: number; submittedAt: number; sentAt: number }[] = [];
    const stop = t.cluster.observe({
      submitted: () => {},
      sent: () => {},
      settled: (c: PendingCall) => void seen.push({ seq: c.seq, submittedAt: c.submittedAt, sentAt: c.sentAt }),
    } satisfies CallObserver);
    try {
      expect(await Promise.all(calls)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    } finally {
      stop();
    }
    expect(seen.length).toBe(N);
    for (const s of seen) {
      expect(s.seq).toBeGreaterThan(0);
      expect(s.submittedAt).toBeGreaterThanOrEqual(t0);
      expect(s.sentAt).toBeGreaterThanOrEqual(s.submittedAt);
    }
  });

  it("closing the cluster fails what is still queued with ClusterClosedError, each counted as failed", async () => {
    const cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 1)).toBe(2);
    const calls = Array.from({ length: N }, (_, i) => m.add(i, 0).then(() => "ok", (e: unknown) => e));
    expect(cluster.stats.queued).toBeGreaterThan(N / 2);
    await cluster.close();
    const got = await Promise.all(calls);
    const failed = got.filter((g) => g !== "ok");
    // Those in flight fail with their link (RunnerLostError, as before); the queued ones never left.
    const closed = failed.filter((e) => e instanceof ClusterClosedError);
    expect(closed.length).toBeGreaterThan(N / 2);
    for (const e of failed) if (!(e instanceof ClusterClosedError)) expect(e).toBeInstanceOf(RunnerLostError);
    expect(cluster.stats.failed).toBe(failed.length);
    expect(cluster.stats.succeeded + cluster.stats.failed).toBe(cluster.stats.calls);
    expect(cluster.stats.queued).toBe(0);
  }, SLOW);
});

describe("calls queued behind a full window when their runner is lost", () => {
  const TOKEN = "queued-calls-token";
  const runners = new RestartableRunners(TOKEN);
  afterAll(() => runners.stopAll());

  it("wait for it to come back and complete with their own values", async () => {
    const a = await runners.start();
    await using cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger(), reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 2)).toBe(3);
    const calls = Array.from({ length: N }, (_, i) => m.add(i, 7));
    expect(cluster.stats.queued).toBeGreaterThan(N / 2);
    await kill9(a.proc.child);
    await events.next("lost", a.address);
    await runners.start(a.address);
    await events.next("joined", a.address);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: N }, (_, i) => i + 7));
    expect(cluster.stats.failed).toBe(0);
    expect(cluster.stats.queued).toBe(0);
  }, SLOW);
});
