import { describe, expect, it } from "vitest";
import { Cluster, RunnerDaemon } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");

// In-process runners with different thread counts: the scheduler must share calls out
// by free threads, and keep no more than the window in flight on any runner.
describe("scheduler", () => {
  let small: RunnerDaemon;
  let big: RunnerDaemon;
  const t = useCluster<{ m: M }>(async (defer) => {
    [small, big] = await Promise.all([
      RunnerDaemon.start({ port: 0, threads: 1, token: "t" }),
      RunnerDaemon.start({ port: 0, threads: 3, token: "t" }),
    ]);
    defer(() => Promise.all([small.close(), big.close()]));
    return Cluster.create({ runners: [small.address, big.address], token: "t" });
  }, { m: "math.ts" });

  it("gives the runner with more free threads more of the work", async () => {
    // Warm up (code fetch, module load) so that only steady-state scheduling is counted.
    await Promise.all(Array.from({ length: 8 }, () => t.m.sleep(1)));
    const [s0, b0] = await Promise.all([small.stats(), big.stats()]);
    await Promise.all(Array.from({ length: 60 }, () => t.m.sleep(40)));
    const [s1, b1] = await Promise.all([small.stats(), big.stats()]);
    const s = s1.calls - s0.calls;
    const b = b1.calls - b0.calls;
    expect(s + b).toBe(60);
    // 1 vs 3 threads: ideally 3:1 (45:15). Round-robin would give 30:30; demand 40 or more.
    expect(b).toBeGreaterThanOrEqual(40);
  });

  it("queues calls in the driver beyond the runners' windows, and drains them all", async () => {
    const n = 2000;
    const all = Promise.all(Array.from({ length: n }, (_, i) => t.m.add(i, 1)));
    // Windows start at 2 calls per thread: most calls must wait in the driver's queue.
    expect(t.cluster.stats.queued).toBeGreaterThan(0);
    for (const r of t.cluster.runners) expect(r.inFlight).toBeLessThanOrEqual(r.threads * 1024);
    const results = await all;
    expect(results.reduce((a, b) => a + b, 0)).toBe((n * (n - 1)) / 2 + n);
    expect(t.cluster.stats.queued).toBe(0);
  });
});
