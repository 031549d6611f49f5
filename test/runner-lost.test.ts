import { describe, expect, it } from "vitest";
import { local, RunnerLostError, type Remote } from "../src/index.ts";
import { DEFAULT_HEARTBEAT } from "../src/protocol/heartbeat.ts";
import { fixture, rejectionOf } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");
type Busy = typeof import("./fixtures/busy.ts");

/** Starts one long call on each runner and returns them with their runner's index. */
async function longCallOnEachRunner(m: Remote<M>, signal: AbortSignal, runners: () => { inFlight: number }[]) {
  const first = m.sleep.with({ signal })(60_000);
  const second = m.sleep.with({ signal })(60_000);
  // The scheduler gives each call to the runner with the most free threads: one each.
  expect(runners().map((r) => r.inFlight)).toEqual([1, 1]);
  // Keep unhandled-rejection noise away: each test awaits the one it cares about.
  first.catch(() => {});
  second.catch(() => {});
  return [first, second] as const;
}

// These tests turn retries off to see the failure itself; retries.test.ts covers what
// happens to lost calls by default (they run again elsewhere).
describe("losing a runner", () => {
  it("a killed runner fails its in-flight call with RunnerLostError from its closed connection; the other runner keeps serving", async () => {
    // Two threads per runner, so the survivor has a free thread beside its long call.
    await using cluster = await local({ runners: 2, threads: 2, retries: 0 });
    const m = await cluster.import<M>(fixture("math.ts"));
    const pids = await Promise.all(Array.from({ length: 8 }, () => m.pid()));
    expect(new Set(pids)).toEqual(new Set(cluster.runners.map((r) => r.pid)));

    const ac = new AbortController();
    const [onFirst, onSecond] = await longCallOnEachRunner(m, ac.signal, () => cluster.runners);
    const [victim, survivor] = cluster.runners;

    process.kill(victim!.pid, "SIGKILL");
    const err = await rejectionOf(onFirst);
    expect(err).toBeInstanceOf(RunnerLostError);
    expect((err as RunnerLostError).runner).toBe(victim!.address);
    // Seen at once from the socket, not after a heartbeat timeout (how long that takes is
    // the machine's business: no clock is read here).
    expect((err as Error).message).not.toMatch(/heartbeat/);
    expect(cluster.runners.map((r) => r.alive)).toEqual([false, true]);

    // New calls go to the survivor and succeed.
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => m.add(i, i)));
    expect(after).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
    expect(new Set(await Promise.all(Array.from({ length: 4 }, () => m.pid())))).toEqual(new Set([survivor!.pid]));
    const stats = await cluster.runnerStats();
    expect(stats.map((s) => s.address)).toEqual([survivor!.address]);

    // The survivor's long call is still running, untouched by the other runner's death.
    expect(cluster.runners[1]!.inFlight).toBe(1);
    ac.abort();
    await expect(onSecond).rejects.toThrow();
  });

  it("a runner that stops answering (SIGSTOP) is detected by heartbeats (silence past their timeout) and its calls fail with RunnerLostError", async () => {
    await using cluster = await local({ runners: 2, threads: 2, retries: 0 });
    const m = await cluster.import<M>(fixture("math.ts"));
    await Promise.all(Array.from({ length: 4 }, () => m.add(1, 1)));

    const ac = new AbortController();
    const [onFirst, onSecond] = await longCallOnEachRunner(m, ac.signal, () => cluster.runners);
    const [frozen, survivor] = cluster.runners;

    process.kill(frozen!.pid, "SIGSTOP");
    try {
      const err = await rejectionOf(onFirst);
      expect(err).toBeInstanceOf(RunnerLostError);
      expect((err as RunnerLostError).runner).toBe(frozen!.address);
      // The heartbeat decided, after a silence longer than its timeout (1.5 s by default);
      // on a loaded machine its timer may fire late, so the silence has no upper bound here.
      const silentMs = Number(/no heartbeat for (\d+) ms/.exec((err as Error).message)?.[1]);
      expect(silentMs).toBeGreaterThan(DEFAULT_HEARTBEAT.timeoutMs);
      expect(cluster.runners.map((r) => r.alive)).toEqual([false, true]);
      // Calls made now go to the live runner.
      expect(await m.pid()).toBe(survivor!.pid);
    } finally {
      process.kill(frozen!.pid, "SIGCONT");
      process.kill(frozen!.pid, "SIGKILL");
    }
    ac.abort();
    await expect(onSecond).rejects.toThrow();
  });

  it("calls still queued in the driver when a runner dies run on the other runner", async () => {
    await using cluster = await local({ runners: 2, threads: 1, retries: 0 });
    const b = await cluster.import<Busy>(fixture("busy.ts"));
    await Promise.all([b.add(1, 1), b.add(2, 2)]);
    const calls = Array.from({ length: 16 }, () => b.napThenPid(100));
    for (const c of calls) c.catch(() => {});
    const queued = cluster.stats.queued;
    expect(queued).toBeGreaterThan(0);
    const [victim, survivor] = cluster.runners;
    process.kill(victim!.pid, "SIGKILL");
    const outcomes = await Promise.allSettled(calls);
    const lost = outcomes.filter((o) => o.status === "rejected");
    const done = outcomes.filter((o): o is PromiseFulfilledResult<number> => o.status === "fulfilled");
    for (const o of lost) expect(o.reason).toBeInstanceOf(RunnerLostError);
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.length).toBeLessThanOrEqual(calls.length - queued);
    expect(done.length).toBeGreaterThanOrEqual(queued);
    for (const o of done) expect(o.value).toBe(survivor!.pid);
  });

  it("with waitForRunners 0, when the last runner dies, in-flight and queued calls all fail with RunnerLostError and new calls fail at once", async () => {
    await using cluster = await local({ runners: 1, threads: 1, waitForRunners: 0 });
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 1)).toBe(2);
    // 1 thread: window of 2 in flight, the rest waits in the driver's queue.
    const calls = Array.from({ length: 20 }, () => m.sleep(60_000));
    for (const c of calls) c.catch(() => {});
    expect(cluster.stats.queued).toBeGreaterThan(0);
    process.kill(cluster.runners[0]!.pid, "SIGKILL");
    const errors = await Promise.all(calls.map((c) => rejectionOf(c)));
    for (const e of errors) expect(e).toBeInstanceOf(RunnerLostError);
    // With no runner left, retries (3 by default) cannot help: the error says so at once.
    for (const e of errors) expect((e as RunnerLostError).message).toMatch(/after 1 attempt|no runners left/);
    expect(cluster.stats.queued).toBe(0);
    await expect(m.add(1, 2)).rejects.toBeInstanceOf(RunnerLostError);
  });
});
