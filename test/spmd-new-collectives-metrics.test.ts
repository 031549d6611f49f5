import { describe, expect, it } from "vitest";
import { parse, scrape, total } from "./metrics-helpers.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// The collectives comm() gained are timed like the others: one histogram sample per rank and call.

describe("spmd: the new collectives in the runners' metrics", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 1, metrics: true }, { m: "spmd-more.ts" });

  it("exscan, reduceScatter, gatherv, scatterv, allgatherv, alltoallv: a sample per rank", async () => {
    await t.cluster.spmd({ size: 3, placement: [0, 0, 1] }, t.m.everyNewCollective);
    const samples = (await Promise.all(t.cluster.metricsEndpoints.runners.map((a) => scrape(a)))).flatMap(parse);
    for (const op of ["exscan", "reduceScatter", "gatherv", "scatterv", "allgatherv", "alltoallv"]) {
      expect(total(samples, "strand_runner_collective_duration_seconds_count", { op }), op).toBe(3);
    }
  });
});
