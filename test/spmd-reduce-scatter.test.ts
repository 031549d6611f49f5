import { describe, expect, it } from "vitest";
import { rsInput, scatterCounts, type ReduceScatterResult } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_Reduce_scatter (per-rank counts, some 0) and MPI_Reduce_scatter_block (no counts):
// the ranks' vectors combined element by element, rank i getting block i.

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** Rank 1's big block: near the sizes where the other collectives switch to rings. */
const BIG = 40_000;

function expected(r: number, n: number): Omit<ReduceScatterResult, "errors"> {
  const counts = scatterCounts(n);
  const len = counts.reduce((a, b) => a + b, 0);
  const at = counts.slice(0, r).reduce((a, b) => a + b, 0);
  const inputs = range(n).map((q) => rsInput(q, len).subarray(at, at + counts[r]!));
  const zip = (f: (x: number, y: number) => number): Int32Array => inputs.reduce((a, b) => a.map((x, i) => f(x, b[i]!)));
  const sum = zip((x, y) => x + y);
  const ranks = (n * (n - 1)) / 2;
  const bigAt = (i: number): number => n * ((r * BIG + i) % 1000) + ranks;
  let bigSum = 0;
  for (let i = 0; i < BIG; i++) bigSum += bigAt(i);
  return {
    sum,
    max: zip(Math.max),
    fn: Array.from(sum, (x) => x + n - 1),
    block: Float64Array.of(2 * r * ranks, (2 * r + 1) * ranks),
    big: { length: BIG, first: bigAt(0), last: bigAt(BIG - 1), sum: bigSum },
    minloc: Float64Array.of(0, n === 1 ? 0 : r % 2),
  };
}

describe("spmd: reduceScatter", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [1] },
    { placement: [0, 1] },
    { placement: [1, 1, 0] },
    { placement: [0, 0, 0, 1] },
    { placement: [0, 1, 1, 0, 0, 1] },
    { placement: [1, 0, 0, 0, 0, 0, 0] },
    { placement: [0, 0, 1, 1, 1, 1, 1, 0] },
  ])("ranks on runners $placement", async ({ placement }) => {
    const n = placement.length;
    const results = await t.cluster.spmd({ size: n, placement }, t.m.reduceScatterSuite, BIG);
    for (const [r, got] of results.entries()) {
      const { errors, ...rest } = got;
      expect(rest, `rank ${r} of ${n}`).toStrictEqual(expected(r, n));
      expect(errors.map((e) => e?.name), `rank ${r}`).toEqual(["TypeError", "RangeError", n === 1 ? undefined : "RangeError", "TypeError", "TypeError"]);
      expect(errors[0]!.message).toMatch(/^reduceScatter: counts must be an array of \d+ whole numbers/);
      expect(errors[1]!.message).toMatch(/^reduceScatter: counts add up to/);
    }
  });
});
