import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { type Chan, type Cluster } from "../src/index.ts";
import { memoryOf } from "./proc.ts";
import { useCluster } from "./use-cluster.ts";

type G = typeof import("./fixtures/goroutines.ts");

// Go lets a program have as many goroutines as memory holds; a blocked one costs a few KiB.
// Here: 100,000 goroutines blocked on one channel at once, on 2 runners. They all go in one
// burst, before any has returned, so every one takes the runners' main links (the module is
// not warm there yet): the path that once capped them at 64 per thread. What each costs in
// memory is measured and printed (docs/benchmarks.md records it).

const N = 100_000;

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

async function parked(cluster: Cluster, ch: Chan<unknown>, n: number): Promise<void> {
  while ((cluster.stats.channels.find((c) => c.id === ch.id)?.waitingReceivers ?? 0) < n) await cluster.runnerStats();
}

describe("100,000 goroutines blocked at once", () => {
  // A long heartbeat timeout: the test's own burst keeps a busy 2-core machine's event loops
  // busy for long stretches, which is not what it is about.
  const t = useCluster<{ m: G }>({ runners: 2, threads: 2, heartbeat: { intervalMs: 250, timeoutMs: 20_000 } }, { m: "goroutines.ts" });

  it("all run at once, blocked on a receive, costing memory only; closing the channel ends them all", async () => {
    const pids = t.cluster.runners.map((r) => r.pid);
    const rssBefore = pids.map((p) => memoryOf(p).rss);
    const heapBefore = await settledHeap();
    const started = performance.now();

    const ch = t.cluster.chan<number>();
    const gs = Array.from({ length: N }, () => t.m.blocked.go(ch));
    await parked(t.cluster, ch, N);
    const blockedMs = performance.now() - started;

    // Every one is live on a runner at once, and the runners say so.
    const live = (await t.cluster.runnerStats()).map((s) => s.goroutines);
    expect(live.reduce((a, b) => a + b, 0)).toBe(N);
    expect(live.every((n) => n > 0)).toBe(true);

    const runnerBytes = pids.map((p, i) => memoryOf(p).rss - rssBefore[i]!).reduce((a, b) => a + b, 0) / N;
    const driverBytes = ((await settledHeap()) - heapBefore) / N;
    console.log(
      `${N} blocked goroutines on 2 runners (2 threads each): all blocked after ${Math.round(blockedMs)} ms; ` +
      `runner memory (RSS, all threads) ${Math.round(runnerBytes)} bytes per goroutine (live per runner: ${live.join(", ")}); ` +
      `driver heap ${Math.round(driverBytes)} bytes per goroutine (its call, handle and parked receive)`,
    );
    // Bounded: a few KiB each. (A goroutine that held a copy of its socket chunk, 64 KiB, or a thread, would not fit.)
    expect(runnerBytes).toBeLessThan(32 * 1024);
    expect(driverBytes).toBeLessThan(16 * 1024);

    await ch.close();
    const results = await Promise.all(gs.map((g) => g.result));
    expect(results.every((r) => r === "closed")).toBe(true);
    console.log(`all ${N} ended ${Math.round(performance.now() - started - blockedMs)} ms after the close`);
    expect((await t.cluster.runnerStats()).map((s) => s.goroutines)).toEqual([0, 0]);
  }, 300_000);
});
