import { describe, expect, it } from "vitest";
import type { GroupView, SplitResult } from "./fixtures/spmd.ts";
import { useCluster } from "./use-cluster.ts";

type Spmd = typeof import("./fixtures/spmd.ts");

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Rank `r`'s view of the group `members` (parent ranks in group order); null if it is not in it. */
function viewOf(members: number[], r: number): GroupView | null {
  const i = members.indexOf(r);
  return i < 0 ? null : { rank: i, size: members.length, members };
}

/** What rank r of n must see in splitSuite. */
function expectedSplit(r: number, n: number): SplitResult {
  const parity = range(n).filter((q) => q % 2 === r % 2);
  const quarter = range(n).filter((q) => q % 4 === r % 4); // every other member of the parity group
  const i = parity.indexOf(r);
  const subLeft = (i - 1 + parity.length) % parity.length;
  const left = (r - 1 + n) % n;
  const j = quarter.indexOf(r);
  const nestedLeft = (j - 1 + quarter.length) % quarter.length;
  return {
    parity: viewOf(parity, r),
    reversed: viewOf(range(n).reverse(), r),
    tied: viewOf(range(n).filter((q) => q % 3 === r % 3), r),
    without1: viewOf(range(n).filter((q) => q !== 1), r),
    nested: viewOf(quarter, r),
    mixing: {
      parent: { value: `parent from ${left}`, source: left, tag: 0 },
      dup: { value: `dup from ${left}`, source: left, tag: 0 },
      sub: { value: `sub from ${parity[subLeft]}`, source: subLeft, tag: 0 },
    },
    collectives: {
      subSums: range(r % 2 === 0 ? 3 : 1).map((k) => parity.reduce((s, q) => s + q + k, 0)),
      parentSum: (n * (n - 1)) / 2,
      subBcast: `root of group ${r % 2} is ${parity.at(-1)}`,
      parentGather: r === 0 ? range(n) : undefined,
      nestedRing: { value: quarter[nestedLeft], source: nestedLeft, tag: 0 },
    },
  };
}

describe("spmd: split", () => {
  const t = useCluster<{ m: Spmd }>({ runners: 3, threads: 1 }, { m: "spmd.ts" });

  // One run checks: even/odd groups in rank order, a key that reverses the order, equal keys
  // (parent rank order), a negative color (undefined), a split of a split, and that p2p and
  // collectives with the same tags in parent, duplicate and groups never take each other's messages.
  it.each([
    { n: 1, placement: [0] },
    { n: 2, placement: [0, 1] },
    { n: 5, placement: [0, 1, 2, 0, 1] },
    { n: 7, placement: [2, 2, 0, 1, 0, 2, 1] },
    { n: 8, placement: [0, 0, 0, 1, 1, 1, 2, 2] },
  ])("$n ranks on runners $placement", async ({ n, placement }) => {
    const results = await t.cluster.spmd({ size: n, placement }, t.m.splitSuite);
    expect(results).toHaveLength(n);
    for (const [r, got] of results.entries()) expect(got, `rank ${r} of ${n}`).toStrictEqual(expectedSplit(r, n));
  });
});
