import { describe, expect, it } from "vitest";
import { exscanF64 } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_Exscan: rank i gets ranks 0..i-1's values combined in rank order; rank 0 gets nothing.

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function expected(r: number): unknown {
  if (r === 0) return { sum: undefined, concat: undefined, f64: undefined, max: undefined, bor: undefined, maxloc: undefined };
  const lower = range(r);
  const f64 = new Float64Array(3);
  for (const q of lower) exscanF64(q).forEach((x, i) => (f64[i] = f64[i]! + x));
  const best = Math.max(...lower.map((q) => q % 3));
  return {
    sum: lower.reduce((s, q) => s + q + 1, 0),
    concat: "abcdefgh".slice(0, r),
    f64,
    max: Math.max(...lower.map((q) => (q * 5) % 7)),
    bor: (1 << r) - 1,
    maxloc: [best, lower.find((q) => q % 3 === best)],
  };
}

describe("spmd: exscan", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [0] },
    { placement: [1, 0] },
    { placement: [0, 0, 1] },
    { placement: [0, 1, 1, 1] },
    { placement: [1, 1, 0, 0, 0] },
    { placement: [0, 0, 0, 1, 0, 1] },
    { placement: [1, 0, 1, 0, 1, 0, 1] },
    { placement: [0, 0, 0, 0, 0, 0, 1, 1] },
  ])("ranks on runners $placement", async ({ placement }) => {
    const n = placement.length;
    const results = await t.cluster.spmd({ size: n, placement }, t.m.exscanSuite);
    for (const [r, got] of results.entries()) {
      expect(got.error?.name, `rank ${r}`).toBe("TypeError");
      expect({ ...got, error: undefined }, `rank ${r} of ${n}`).toStrictEqual({ ...(expected(r) as object), error: undefined });
    }
  });
});
