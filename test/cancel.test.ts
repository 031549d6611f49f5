import { beforeAll, describe, expect, it } from "vitest";
import { CancelledError, local, TimeoutError, type Cluster } from "../src/index.ts";
import { fixture, rejectionOf, removeDir, tempDir } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");
type Busy = typeof import("./fixtures/busy.ts");

/** Waits (by asking the runner, no sleeping) until it has `n` calls queued or running. */
async function runnerInFlight(cluster: Cluster, n: number): Promise<void> {
  for (;;) {
    const [s] = await cluster.runnerStats();
    if (s!.inFlight === n) return;
  }
}

// One runner with one thread: a stuck thread would block every later call.
describe("timeouts and cancellation", () => {
  const t = useCluster<{ m: M }>(async (defer) => {
    const cacheDir = await tempDir();
    defer(() => removeDir(cacheDir));
    return local({ runners: 1, threads: 1, cacheDir });
  }, { m: "math.ts" });
  beforeAll(async () => {
    expect(await t.m.add(1, 1)).toBe(2);
  });

  it("a timeout rejects with TimeoutError and frees the runner's only thread", async () => {
    const before = (await t.cluster.runnerStats())[0]!.workerRestarts;
    const err = await rejectionOf(t.m.spin.with({ timeout: 300 })());
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(300);
    expect((err as Error).message).toMatch(/spin timed out after 300 ms/);
    expect(await t.m.add(2, 3)).toBe(5);
    const [stats] = await t.cluster.runnerStats();
    expect(stats!.workerRestarts).toBeGreaterThan(before);
    expect(stats!.inFlight).toBe(0);
  });

  it("aborting a running call rejects with CancelledError (cause: the abort reason) and frees the thread", async () => {
    const ac = new AbortController();
    const call = t.m.spin.with({ signal: ac.signal })();
    call.catch(() => {});
    await runnerInFlight(t.cluster, 1);
    const reason = new Error("user pressed stop");
    ac.abort(reason);
    const err = await rejectionOf(call);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).code).toBe("ERR_STRAND_CANCELLED");
    expect((err as Error).cause).toBe(reason);
    expect(await t.m.add(3, 4)).toBe(7);
    await runnerInFlight(t.cluster, 0);
  });

  it("aborting in the same tick as the call (module already cached) also stops it", async () => {
    const ac = new AbortController();
    const call = t.m.spin.with({ signal: ac.signal })();
    ac.abort();
    expect(await rejectionOf(call)).toBeInstanceOf(CancelledError);
    expect(await t.m.add.with({ timeout: 5000 })(4, 5)).toBe(9);
  });

  it("an already-aborted signal rejects at once with CancelledError and sends nothing", async () => {
    const callsBefore = (await t.cluster.runnerStats())[0]!.calls;
    const ac = new AbortController();
    ac.abort("too late");
    let settled = false;
    const call = t.m.add.with({ signal: ac.signal })(1, 2);
    call.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(true);
    const err = await rejectionOf(call);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).cause).toBe("too late");
    expect(t.cluster.runners[0]!.inFlight).toBe(0);
    expect((await t.cluster.runnerStats())[0]!.calls).toBe(callsBefore);
  });

  it("a timeout or signal that fires after the call finished changes nothing", async () => {
    const ac = new AbortController();
    // A timeout the call finishes within even on a loaded machine (50 ms may not be);
    // the next call runs across the moment it would fire, so a stale timer would hit it.
    expect(await t.m.add.with({ signal: ac.signal, timeout: 1000 })(5, 6)).toBe(11);
    ac.abort();
    expect(await t.m.sleep.with({ timeout: 10_000 })(1200)).toBe(1200);
    expect(await t.m.add(6, 7)).toBe(13);
  });

  it("cancelling one of many concurrent calls leaves the others alone", async () => {
    const ac = new AbortController();
    const sleeps = Array.from({ length: 5 }, (_, i) => t.m.sleep(20 + i));
    const spin = t.m.spin.with({ signal: ac.signal })();
    spin.catch(() => {});
    const adds = Array.from({ length: 5 }, (_, i) => t.m.add(i, 100));
    ac.abort();
    expect(await rejectionOf(spin)).toBeInstanceOf(CancelledError);
    expect(await Promise.all(sleeps)).toEqual([20, 21, 22, 23, 24]);
    expect(await Promise.all(adds)).toEqual([100, 101, 102, 103, 104]);
  });
});

describe("cancelling the first call of a module", () => {
  // Regression: while the runner fetches a module's code, the call is in the session but
  // not yet in the executor; a Cancel arriving then used to be dropped, so the call started
  // when the code came and, never returning, held the only thread forever.
  it("aborting while the runner still fetches the code stops the call; the thread stays usable", async () => {
    const cacheDir = await tempDir();
    try {
      await using cluster = await local({ runners: 1, threads: 1, cacheDir });
      const busy = await cluster.import<Busy>(fixture("busy.ts"));
      const ac = new AbortController();
      const call = busy.spin.with({ signal: ac.signal })();
      ac.abort();
      expect(await rejectionOf(call)).toBeInstanceOf(CancelledError);
      // A thread still spinning would never answer; 15 s tells that apart from a slow start
      // of the code fetch on a busy machine (2 s timed out at load 20).
      expect(await busy.add.with({ timeout: 15_000 })(1, 2)).toBe(3);
    } finally {
      await removeDir(cacheDir);
    }
  });
});
