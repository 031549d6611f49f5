import { describe, expect, it } from "vitest";
import { a2aCount, a2aElement, vBlock, vCount, vDispls, type VectorsResult } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_Gatherv, MPI_Scatterv, MPI_Allgatherv, MPI_Alltoallv: blocks of uneven sizes (one
// empty), at default displacements (one after the other) and at given ones (with gaps, or
// in another order).

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Blocks placed at displs, in a vector as long as the furthest non-empty block's end. */
function placed<E>(blocks: E[][], displs: number[], fill: E): E[] {
  const end = Math.max(0, ...blocks.map((b, i) => (b.length > 0 ? displs[i]! + b.length : 0)));
  const out = new Array<E>(end).fill(fill);
  blocks.forEach((b, i) => b.forEach((x, k) => (out[displs[i]! + k] = x)));
  return out;
}

function expected(r: number, n: number, root: number): Omit<VectorsResult, "errors"> {
  const blocks = range(n).map((i) => [...vBlock(i)]);
  const whole = Int32Array.from(blocks.flat());
  const gaps = Int32Array.from(placed(blocks, vDispls(n), 0));
  const incoming = range(n).map((j) => range(a2aCount(j, r)).map((m) => a2aElement(j, r, m)));
  const holes: number[] = [];
  let at = 0;
  for (const b of incoming) {
    holes.push(at + 1);
    at += b.length + 1;
  }
  return {
    gatherv: r === root ? whole : undefined,
    gathervGaps: r === root ? gaps : undefined,
    gathervArray: r === root ? blocks.flat().map((x) => `v${x}`) : undefined,
    scatterv: vBlock(r),
    scattervDispls: [...vBlock(r)],
    allgatherv: whole,
    allgathervGaps: gaps,
    alltoallv: incoming.flat(),
    alltoallvDispls: placed(incoming, holes, "hole"),
  };
}

describe("spmd: vector collectives (gatherv, scatterv, allgatherv, alltoallv)", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [0], root: 0 },
    { placement: [0, 1], root: 1 },
    { placement: [1, 0, 0], root: 0 },
    { placement: [0, 0, 1, 1], root: 2 },
    { placement: [1, 1, 1, 1, 0], root: 4 },
    { placement: [0, 1, 0, 0, 1, 1], root: 1 },
    { placement: [0, 0, 0, 0, 0, 1, 0], root: 5 },
    { placement: [1, 0, 1, 1, 0, 0, 1, 0], root: 3 },
  ])("ranks on runners $placement, root $root", async ({ placement, root }) => {
    const n = placement.length;
    const results = await t.cluster.spmd({ size: n, placement }, t.m.vectorsSuite, root);
    expect(vCount(1)).toBe(0); // an empty block is among them
    for (const [r, got] of results.entries()) {
      const { errors, ...rest } = got;
      expect(rest, `rank ${r} of ${n}`).toStrictEqual(expected(r, n, root));
      expect(errors.map((e) => e?.name), `rank ${r}`).toEqual(["TypeError", "RangeError", "RangeError", "RangeError", "TypeError"]);
      expect(errors.map((e) => e!.message.split(":")[0])).toEqual(["gatherv", "scatterv", "allgatherv", "alltoallv", "gatherv"]);
      expect(errors[1]!.message).toMatch(/counts and displs reach element \d+ but values has \d+/);
      expect(errors[3]!.message).toMatch(/sendDispls\[0\] must be a whole number >= 0, got 1.5/);
    }
  });
});
