import { describe, expect, it } from "vitest";
import { heatSingle, initialBlock } from "../examples/heat/kernel.ts";
import { runHeat } from "../examples/heat/main.ts";
import { countAll, countHits, seedOf, share } from "../examples/pi/kernel.ts";
import { piTolerance, runPi } from "../examples/pi/main.ts";
import { bucketsOf, concat, digestOf, mergeIntoOwn, mergeSorted, sortSingle } from "../examples/sort/kernel.ts";
import { runSort, SAMPLES_PER_RANK, sameSlices } from "../examples/sort/main.ts";
import { useCluster } from "./use-cluster.ts";

type Pi = typeof import("../examples/pi/ranks.ts");
type Heat = typeof import("../examples/heat/ranks.ts");
type Sort = typeof import("../examples/sort/ranks.ts");
type Ring = typeof import("../examples/ring/ring.ts");
const at = (path: string): URL => new URL(path, import.meta.url);

describe("SPMD examples", () => {
  const t = useCluster({ runners: 2, threads: 1 });

  for (const ranks of [4, 3]) {
    it(`pi on ${ranks} ranks: rank 0's reduced count equals the in-process count of the same streams`, async () => {
      const n = 200_003;
      const m = await t.cluster.import<Pi>(at("../examples/pi/ranks.ts"));
      const results = await t.cluster.spmd(ranks, m.estimate, n);
      expect(results.map((r) => r.hits)).toEqual(Array.from({ length: ranks }, (_, r) => countHits(share(n, ranks, r), seedOf(r))));
      expect(results[0]!.total).toBe(countAll(n, ranks));
      expect(results.slice(1).map((r) => r.total)).toEqual(new Array(ranks - 1).fill(undefined));
      expect(Math.abs((4 * results[0]!.total!) / n - Math.PI)).toBeLessThan(piTolerance(n));

      const row = await runPi(t.cluster, n, { ranks, maxRuns: 1 });
      expect(row.size).toBe(`n=${n}, ${ranks} ranks`);
      expect(row.detail).toContain(`hits ${countAll(n, ranks)} equal`);
      expect(row.ok).toBe(true);
    });

    it(`pi on ${ranks} ranks with the Wasm kernel: every rank's hits equal the JS kernel's`, async () => {
      const n = 200_003;
      const m = await t.cluster.import<Pi>(at("../examples/pi/ranks.ts"));
      const results = await t.cluster.spmd(ranks, m.estimate, n, "wasm");
      expect(results.map((r) => r.hits)).toEqual(Array.from({ length: ranks }, (_, r) => countHits(share(n, ranks, r), seedOf(r))));
      expect(results[0]!.total).toBe(countAll(n, ranks));

      const row = await runPi(t.cluster, n, { ranks, maxRuns: 1, kernel: "wasm" });
      expect(row.example).toBe("pi (wasm)");
      expect(row.detail).toContain(`hits ${countAll(n, ranks)} equal`);
      expect(row.ok).toBe(true);
    });

    it(`heat on ${ranks} ranks: the gathered field is bit-identical to the single-process stencil`, async () => {
      const n = 1001;
      const steps = 60;
      const m = await t.cluster.import<Heat>(at("../examples/heat/ranks.ts"));
      const [field, ...others] = await t.cluster.spmd(ranks, m.heat, n, steps);
      expect(others).toEqual(new Array(ranks - 1).fill(undefined));
      const single = heatSingle(n, steps);
      expect(field).toEqual(single);
      expect(field).not.toEqual(initialBlock(n, 0, n)); // heat did flow
      expect(field![0]).toBe(1); // the fixed ends
      expect(field![n - 1]).toBe(0);

      const row = await runHeat(t.cluster, n, { ranks, steps, maxRuns: 1 });
      expect(row.detail).toMatch(/max \|diff\| 0 \(bit-identical\); 1 run$/);
      expect(row.ok).toBe(true);
    });

    it(`heat on ${ranks} ranks with the Wasm kernel: the field is the JS kernel's single-process field, bit for bit`, async () => {
      const n = 1001;
      const steps = 460; // two full rounds of the 200-deep halo and a short one
      const m = await t.cluster.import<Heat>(at("../examples/heat/ranks.ts"));
      const [field, ...others] = await t.cluster.spmd(ranks, m.heat, n, steps, "wasm");
      expect(others).toEqual(new Array(ranks - 1).fill(undefined));
      expect(field).toEqual(heatSingle(n, steps));

      const row = await runHeat(t.cluster, n, { ranks, steps, maxRuns: 1, kernel: "wasm" });
      expect(row.example).toBe("heat (wasm)");
      expect(row.detail).toMatch(/max \|diff\| 0 \(bit-identical\); 1 run$/);
      expect(row.ok).toBe(true);
    });

    it(`sort on ${ranks} ranks: the slices in rank order are the single-process sort, evenly sized`, async () => {
      const n = 60_001;
      const m = await t.cluster.import<Sort>(at("../examples/sort/ranks.ts"));
      const slices = await t.cluster.spmd(ranks, m.sampleSort, n, SAMPLES_PER_RANK);
      expect(slices).toHaveLength(ranks);
      const joined = concat(slices);
      expect(joined.length).toBe(n);
      expect(joined).toEqual(sortSingle(n, ranks));
      for (const s of slices) expect(s.length).toBeLessThan((1.5 * n) / ranks);

      const row = await runSort(t.cluster, n, { ranks, maxRuns: 1 });
      const balance = /^sorted keys equal \(by SHA-256\); load balance (\d+\.\d+) \(max slice \/ mean\), slices ([\d+]+); 1 run$/.exec(row.detail);
      expect(balance, row.detail).not.toBeNull();
      expect(Number(balance![1])).toBeGreaterThanOrEqual(1);
      expect(Number(balance![1])).toBeLessThan(1.5);
      expect(balance![2]!.split("+").map(Number).reduce((a, b) => a + b, 0)).toBe(n);
      expect(row.ok).toBe(true);
    });

    it(`ring on ${ranks} ranks: allreduce sums every rank's number, rank 0 returns it`, async () => {
      const m = await t.cluster.import<Ring>(at("../examples/ring/ring.ts"));
      const results = await t.cluster.spmd(ranks, m.main, 5);
      expect(results).toEqual([(ranks * (ranks - 1)) / 2, ...new Array(ranks - 1).fill(undefined)]);
    });
  }

  it("sort on 2 ranks, one per runner (npm start's shape: each merges into its own keys' memory), at sizes down to a few keys", async () => {
    const m = await t.cluster.import<Sort>(at("../examples/sort/ranks.ts"));
    for (const n of [100_001, 7, 2, 1]) {
      const slices = await t.cluster.spmd({ size: 2, placement: [0, 1] }, m.sampleSort, n, SAMPLES_PER_RANK);
      const joined = concat(slices);
      expect(joined.length).toBe(n);
      expect(joined).toEqual(sortSingle(n, 2));
    }
  });

  for (const kernel of ["js", "wasm"] as const) {
    it(`heat with neighbours on alternate runners (every halo exchange crosses processes) still matches (${kernel})`, async () => {
      const m = await t.cluster.import<Heat>(at("../examples/heat/ranks.ts"));
      const [field] = await t.cluster.spmd({ size: 4, placement: [0, 1, 0, 1] }, m.heat, 500, 40, kernel);
      expect(field).toEqual(heatSingle(500, 40));
    });

    it(`heat's deep halo: steps that are no multiple of it, and blocks smaller than it, still match bit for bit (${kernel})`, async () => {
      const m = await t.cluster.import<Heat>(at("../examples/heat/ranks.ts"));
      // 3 * 200 + 57 steps: three full rounds and a short one.
      const [field] = await t.cluster.spmd({ size: 2, placement: [0, 1] }, m.heat, 2000, 657, kernel);
      expect(field).toEqual(heatSingle(2000, 657));
      // 23 points on 4 ranks: blocks of 5 and 6 cells, so the halo is 5 deep and a run of steps crosses blocks.
      const [small] = await t.cluster.spmd({ size: 4, placement: [0, 1, 0, 1] }, m.heat, 23, 31, kernel);
      expect(small).toEqual(heatSingle(23, 31));
    });
  }
});

describe("sort's pieces", () => {
  it("mergeSorted merges any number of sorted runs into their sort", () => {
    const runs = [[0.1, 0.5, 0.9], [], [0.2, 0.2, 0.7], [0.05], [0.3, 0.95]].map((r) => Float64Array.from(r));
    const all = Float64Array.from(runs.flatMap((r) => [...r])).sort();
    expect(mergeSorted(runs)).toEqual(all);
    expect(mergeSorted([])).toEqual(new Float64Array(0));
  });

  it("mergeIntoOwn merges a run inside a buffer with another run, in the buffer's memory, wherever the run lies", () => {
    const sorted = (xs: number[]): Float64Array => Float64Array.from(xs).sort();
    const other = sorted([0.15, 0.25, 0.55, 0.95, 0.99]);
    for (const at of [0, 3, 6]) {
      const buf = new Float64Array(12).fill(-1);
      buf.set([0.1, 0.2, 0.5, 0.6], at);
      const merged = mergeIntoOwn(buf, buf.subarray(at, at + 4), other);
      expect(merged).toEqual(sorted([0.1, 0.2, 0.5, 0.6, 0.15, 0.25, 0.55, 0.95, 0.99]));
      expect(merged!.buffer).toBe(buf.buffer);
    }
    // own's keys all last, all first, none; the other run empty
    const a = new Float64Array(6);
    a.set([0.7, 0.8], 1);
    expect(mergeIntoOwn(a, a.subarray(1, 3), sorted([0.1, 0.2]))).toEqual(sorted([0.1, 0.2, 0.7, 0.8]));
    a.set([0.01, 0.02], 1);
    expect(mergeIntoOwn(a, a.subarray(1, 3), sorted([0.1, 0.2]))).toEqual(sorted([0.01, 0.02, 0.1, 0.2]));
    expect(mergeIntoOwn(a, a.subarray(2, 2), sorted([0.3]))).toEqual(sorted([0.3]));
    a.set([0.4, 0.5], 0);
    expect(mergeIntoOwn(a, a.subarray(0, 2), new Float64Array(0))).toEqual(sorted([0.4, 0.5]));
    // too short, or own not in the buffer: nothing merged
    const b = Float64Array.from([0.1, 0.2, 0.3]);
    expect(mergeIntoOwn(b, b.subarray(0, 2), sorted([0.4, 0.5]))).toBeUndefined();
    expect(b).toEqual(Float64Array.from([0.1, 0.2, 0.3]));
    expect(mergeIntoOwn(new Float64Array(8), sorted([0.1]), sorted([0.2]))).toBeUndefined();
  });

  it("bucketsOf cuts a sorted array into views at the splitters", () => {
    const sorted = Float64Array.from([0.1, 0.2, 0.2, 0.5, 0.9]);
    const buckets = bucketsOf(sorted, Float64Array.from([0.2, 0.6]));
    expect(buckets).toEqual([Float64Array.from([0.1, 0.2, 0.2]), Float64Array.from([0.5]), Float64Array.from([0.9])]);
    for (const b of buckets) expect(b.buffer).toBe(sorted.buffer);
  });

  it("sameSlices finds a slice that differs, is missing or is too long", () => {
    const sorted = sortSingle(1000, 2);
    const slices = [sorted.subarray(0, 400), sorted.subarray(400)];
    expect(sameSlices(slices.map(digestOf), sorted)).toEqual({ equal: true, firstDiff: -1 });
    const changed = slices[1]!.slice();
    changed[7] = changed[7]! + 1e-12;
    expect(sameSlices([digestOf(slices[0]!), digestOf(changed)], sorted)).toEqual({ equal: false, firstDiff: 1 });
    expect(sameSlices([digestOf(slices[0]!)], sorted).equal).toBe(false);
    expect(sameSlices([digestOf(sorted.subarray(0, 401)), digestOf(slices[1]!)], sorted).equal).toBe(false);
  });
});
