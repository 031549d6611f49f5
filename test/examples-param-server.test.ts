import { describe, expect, it } from "vitest";
import { LOSS_DROP, runParamServer } from "../examples/param-server/main.ts";
import { applyStep, gradient, localGradient, makeShard, trainLocal } from "../examples/param-server/model.ts";
import { useCluster } from "./use-cluster.ts";

describe("param-server example", () => {
  const t = useCluster({ runners: 2, threads: 1 });

  it("trains to the single-process weights, bit for bit, and the loss falls", async () => {
    const row = await runParamServer(t.cluster, 4000, { maxRuns: 1, steps: 8 });
    expect(row.detail).toMatch(/^data [\d.]+ MB \([\d.]+ MB a shard\); loss [\d.]+ → [\d.]+; max \|diff\| 0; loss history equal;/);
    expect(row.ok).toBe(true);
  });

  it("trains by local SGD (several steps a shard between exchanges) to the single-process weights, bit for bit", async () => {
    const row = await runParamServer(t.cluster, 4000, { maxRuns: 1, steps: 4, localSteps: 3 });
    expect(row.size).toBe("n=4000, 2 shards, 4 rounds of 3 local steps");
    expect(row.detail).toMatch(/max \|diff\| 0; loss history equal;/);
    expect(row.ok).toBe(true);
    await expect(runParamServer(t.cluster, 1000, { localSteps: 0 })).rejects.toThrow(/localSteps must be a positive integer, got 0/);
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

  it("local SGD: one local step is the shard's gradient itself; more descend, and the update averages the shards' local models", () => {
    const s = makeShard(0, 50, 4);
    const w = Float64Array.from([0.1, -0.2, 0.3, 0]);
    expect(localGradient(w, s, 1, 2)).toEqual(gradient(w, s));
    const shards = [makeShard(0, 30, 4), makeShard(1, 50, 4)];
    const locals = shards.map((sh) => {
      const v = w.slice();
      for (let k = 0; k < 5; k++) {
        const g = gradient(v, sh);
        for (let j = 0; j < 4; j++) v[j]! -= (2 * g.grad[j]!) / sh.rows;
      }
      return v;
    });
    const next = w.slice();
    applyStep(next, shards.map((sh) => localGradient(w, sh, 5, 2)), 2);
    for (let j = 0; j < 4; j++) expect(next[j]!).toBeCloseTo((30 * locals[0]![j]! + 50 * locals[1]![j]!) / 80, 12);
    const a = trainLocal(2000, 2, 10, 10, 2, 5);
    expect(a.losses.every((l, i) => i === 0 || l < a.losses[i - 1]!)).toBe(true);
    expect(a.losses.at(-1)!).toBeLessThan(LOSS_DROP * a.losses[0]!);
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
