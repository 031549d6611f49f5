import { describe, expect, it } from "vitest";
import { locValue, type LocResult } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_MAXLOC / MPI_MINLOC: the best value and its index, the lowest index on ties (values
// repeat on ranks r and r + 1 here), in each form: a pair, an array of pairs, and pairs
// interleaved in a typed array (MPI_DOUBLE_INT, MPI_2INT), small and past the ring sizes.

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The winning (value, index) over ranks 0..n-1 where rank q offers (value(q), index(q)). */
function best(n: number, value: (q: number) => number, index: (q: number) => number, better: (a: number, b: number) => boolean): [number, number] {
  let w = 0;
  for (const q of range(n).slice(1)) {
    if (better(value(q), value(w)) || (value(q) === value(w) && index(q) < index(w))) w = q;
  }
  return [value(w), index(w)];
}
const gt = (a: number, b: number): boolean => a > b;
const lt = (a: number, b: number): boolean => a < b;
const id = (q: number): number => q;

function expected(r: number, n: number, root: number): LocResult {
  const v = locValue;
  const maxV = best(n, v, id, gt);
  const minNeg = best(n, (q) => -v(q), id, lt);
  const big = range(10).flatMap((k) => best(n, (q) => (k % 5 === q % 5 ? 1 : 0), id, gt));
  return {
    pair: { max: maxV, min: best(n, v, id, lt) },
    pairs: [maxV, best(n, (q) => -v(q), id, gt), best(n, (q) => q % 2, (q) => 10 * q, gt)],
    doubleInt: Float64Array.of(...best(n, (q) => v(q) + 0.25, id, lt), ...minNeg),
    twoInt: r === root ? Int32Array.of(...maxV, 7, 0) : undefined,
    scanMin: best(r + 1, (q) => -v(q), id, lt),
    bigDoubleInt: { length: 140_000, firstPairs: big },
  };
}

describe("spmd: maxloc and minloc", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [0], root: 0 },
    { placement: [1, 0], root: 1 },
    { placement: [0, 0, 1], root: 2 },
    { placement: [0, 1, 1, 1, 0], root: 0 },
    { placement: [1, 1, 0, 0, 0, 0, 1], root: 3 },
    { placement: [0, 0, 0, 1, 1, 0, 0, 1], root: 6 },
  ])("ranks on runners $placement, root $root", async ({ placement, root }) => {
    const n = placement.length;
    const results = await t.cluster.spmd({ size: n, placement }, t.m.locSuite, root);
    for (const [r, got] of results.entries()) expect(got, `rank ${r} of ${n}`).toStrictEqual(expected(r, n, root));
  });
});
