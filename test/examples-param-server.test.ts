import { describe, expect, it } from "vitest";
import { LOSS_DROP, runParamServer } from "../examples/param-server/main.ts";
import { applyStep, gradient, makeShard, trainLocal } from "../examples/param-server/model.ts";
import { useCluster } from "./use-cluster.ts";

describe("param-server example", () => {
  const t = useCluster({ runners: 2, threads: 1 });

  it("trains to the single-process weights, bit for bit, and the loss falls", async () => {
    const row = await runParamServer(t.cluster, 4000, { maxRuns: 1, steps: 8 });
    expect(row.detail).toMatch(/^data [\d.]+ MB \([\d.]+ MB a shard\); loss [\d.]+ → [\d.]+; max \|diff\| 0; loss history equal;/);
    expect(row.ok).toBe(true);
  });

  it("trains with one shard, and refuses more shards than the cluster runs at once", async () => {
    const row = await runParamServer(t.cluster, 1000, { maxRuns: 1, shards: 1, steps: 4 });
    expect(row.detail).toMatch(/max \|diff\| 0; loss history equal;/);
    expect(row.ok).toBe(true);
    await expect(runParamServer(t.cluster, 1000, { shards: 3 })).rejects.toThrow(/shards must be an integer from 1 to the cluster's 2 threads, got 3/);
  });
});

describe("param-server model", () => {
  it("descends: every step lowers the loss, and the baseline is deterministic", () => {
    const a = trainLocal(2000, 3, 10, 20, 2);
    expect(a.losses.every((l, i) => i === 0 || l < a.losses[i - 1]!)).toBe(true);
    expect(a.losses.at(-1)!).toBeLessThan(LOSS_DROP * a.losses[0]!);
    expect(trainLocal(2000, 3, 10, 20, 2)).toEqual(a);
  });

  it("averages the shards' gradients over all rows", () => {
    const shards = [makeShard(0, 5, 3), makeShard(1, 7, 3)];
    const w = new Float64Array(3);
    const g = shards.map((s) => gradient(w, s));
    const expected = Float64Array.from(w, (_, j) => -(g[0]!.grad[j]! + g[1]!.grad[j]!) / 12);
    expect(applyStep(w, g, 1)).toBeCloseTo(Math.log(2), 12); // at w = 0 every row's loss is ln 2
    expect(w).toEqual(expected);
  });
});
