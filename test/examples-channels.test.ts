import { describe, expect, it } from "vitest";
import { RemoteError } from "../src/index.ts";
import { firstPrimes, inProcess, primeBound, runPipeline, sievePipeline } from "../examples/pipeline/main.ts";
import { makeJobs, poolOverChannels, runWorkers } from "../examples/workers/main.ts";
import { useCluster } from "./use-cluster.ts";

/** "stages per runner 16+15" -> [16, 15] */
const perRunner = (detail: string, what: string): number[] => {
  const m = new RegExp(`${what} per runner ([\\d+]+)`).exec(detail);
  expect(m, detail).not.toBeNull();
  return m![1]!.split("+").map(Number);
};

describe("examples over channels", () => {
  const t = useCluster({ runners: 2, threads: 1 });

  it("pipeline in one process: the stages on in-process channels find the first primes", async () => {
    expect(firstPrimes(10)).toEqual([2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    for (const n of [1, 5, 6, 100, 1000]) expect(firstPrimes(n)).toHaveLength(n); // the bound holds
    expect(primeBound(6)).toBeGreaterThanOrEqual(13);
    for (const capacity of [0, 3]) {
      const { primes, stages } = await sievePipeline(inProcess(capacity), 25);
      expect(primes).toEqual(firstPrimes(25));
      expect(stages).toHaveLength(26);
      expect(stages[0]!.sent).toBe(primeBound(25) - 1); // generate sent 2..bound
    }
  });

  it("pipeline: the first 30 primes through 31 goroutines on both runners equal a plain sieve's", async () => {
    const row = await runPipeline(t.cluster, 30, { maxRuns: 1 });
    expect(row.detail).toMatch(/^first 30 primes equal \(last 113\);/);
    expect(row.ok).toBe(true);
    const stages = perRunner(row.detail, "stages");
    expect(stages.reduce((a, b) => a + b, 0)).toBe(31);
    expect(stages.every((s) => s > 0)).toBe(true);
  });

  it("pipeline on buffered channels", async () => {
    const row = await runPipeline(t.cluster, 12, { maxRuns: 1, capacity: 4 });
    expect(row.size).toBe("n=12 cap=4");
    expect(row.ok).toBe(true);
  });

  it("workers: the pool over channels and plain calls both give every job's value", async () => {
    const [pool, calls] = await runWorkers(t.cluster, 40, { maxRuns: 1, rounds: 2000 });
    expect(pool!.detail).toMatch(/^every value equal/);
    expect(pool!.ok).toBe(true);
    expect(calls!.detail).toMatch(/^every value equal/);
    expect(calls!.ok).toBe(true);
    expect(perRunner(pool!.detail, "jobs").reduce((a, b) => a + b, 0)).toBe(40);
  });

  it("workers: jobs in batches through the pool, the last batch short, give every job's value", async () => {
    const m = await t.cluster.import<typeof import("../examples/workers/work.ts")>(new URL("../examples/workers/work.ts", import.meta.url));
    const { workAll } = await import("../examples/workers/work.ts");
    const list = makeJobs(23, 500);
    for (const batch of [1, 4, 23, 50]) {
      const { values, byPid } = await poolOverChannels(t.cluster, m, list, 3, batch);
      expect(values).toEqual(workAll(list));
      expect([...byPid.values()].reduce((a, b) => a + b, 0)).toBe(23);
    }
    const [pool] = await runWorkers(t.cluster, 10, { maxRuns: 1, rounds: 100, batch: 3 });
    expect(pool!.size).toBe("10 jobs, channels, 3 a message");
    expect(pool!.ok).toBe(true);
    await expect(poolOverChannels(t.cluster, m, list, 2, 0)).rejects.toThrow(RangeError);
  });

  it("workers: a worker's failure is thrown by the driver's select loop instead of waiting forever", async () => {
    const m = await t.cluster.import<typeof import("../examples/workers/work.ts")>(new URL("../examples/workers/work.ts", import.meta.url));
    const jobs = [...makeJobs(3, 10), { id: 3, seed: 1, rounds: -1 }];
    const err = await poolOverChannels(t.cluster, m, jobs, 2).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteName).toBe("RangeError");
    expect((err as RemoteError).message).toMatch(/job 3: rounds must be a whole number/);
  });
});
