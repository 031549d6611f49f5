import os from "node:os";
import { describe, expect, it } from "vitest";
import { KINDS, type PoolReport } from "./fixtures/spmd-pool.ts";
import { useCluster } from "./use-cluster.ts";

// Ranks on different runners read their messages into pooled buffers, which the ring
// collectives (allreduce, reduce, bcast's chain) give back once they have used them
// (src/runner/spmd/frame-pool.ts). Every typed array kind goes through those paths several
// times, and every result and received message is checked again after all later calls: a
// buffer given back while someone still held a view of it would show as changed data.

type Pool = typeof import("./fixtures/spmd-pool.ts");

const ROUNDS = 3;

function expectClean(reports: PoolReport[], size: number): void {
  expect(reports.map((r) => r.rank)).toEqual(Array.from({ length: size }, (_, i) => i));
  expect(new Set(reports.map((r) => r.pid)).size).toBe(size); // one rank per runner: every message crosses TCP
  expect(reports.flatMap((r) => r.errors)).toEqual([]);
  for (const r of reports) expect(r.checks).toBeGreaterThan(KINDS.length * ROUNDS * 3);
}

describe("pooled receives, 2 ranks on 2 runners, bound (the default)", () => {
  const t = useCluster<{ m: Pool }>({ runners: 2, threads: 1 }, { m: "spmd-pool.ts" });
  it("every kind through allreduce, reduce, bcast and recv, results kept intact", async () => {
    const reports = await t.cluster.spmd(2, t.m.pooledRounds, KINDS, ROUNDS);
    expectClean(reports, 2);
    // Bound where the machine has a CPU per rank: each rank on one CPU of its own.
    if (os.cpus().length >= 2 && process.platform === "linux") {
      expect(reports.map((r) => r.cpus).every((c) => /^\d+$/.test(c))).toBe(true);
    }
  }, 120_000);
});

describe("pooled receives, bind none", () => {
  const t = useCluster<{ m: Pool }>({ runners: 2, threads: 1, bind: "none" }, { m: "spmd-pool.ts" });
  it("every kind through allreduce, reduce, bcast and recv, results kept intact", async () => {
    expectClean(await t.cluster.spmd(2, t.m.pooledRounds, KINDS, ROUNDS), 2);
  }, 120_000);
});

describe("pooled receives, 3 ranks on 3 runners (uneven ring segments, bcast's chain forwarding pooled chunks)", () => {
  const t = useCluster<{ m: Pool }>({ runners: 3, threads: 1 }, { m: "spmd-pool.ts" });
  it("every kind, results kept intact", async () => {
    expectClean(await t.cluster.spmd(3, t.m.pooledRounds, KINDS, ROUNDS), 3);
  }, 120_000);
});
