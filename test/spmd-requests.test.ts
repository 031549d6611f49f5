import { describe, expect, it } from "vitest";
import type { RequestsResult } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_Test, MPI_Cancel, MPI_Testall, MPI_Waitany, MPI_Waitall on isend/irecv requests.

function expected(r: number, n: number): RequestsResult {
  const left = (r - 1 + n) % n;
  const right = (r + 1) % n;
  return {
    cancelUnmatched: {
      cancelled: true,
      test: { cancelled: true, value: undefined },
      awaited: { name: "CancelledError", message: "the receive was cancelled before a message matched it" },
      later: { source: left, value: `tag 50 from ${left}` },
    },
    cancelMatched: { cancelled: false, test: { cancelled: false, value: { value: { from: left }, source: left, tag: 60 } }, value: { from: left } },
    testedIrecv: { before: undefined, after: { cancelled: false, value: { value: left * 10, source: left, tag: 70 } } },
    testAll: { values: [`r${left}`, `l${right}`, null, null] },
    waitAny: undefined,
    waitAll: [null, left, true],
  };
}

describe("spmd: requests (test, cancel, testAll, waitAny, waitAll)", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [1] },
    { placement: [0, 1] },
    { placement: [0, 0, 1] },
    { placement: [1, 0, 0, 0, 1, 1] },
    { placement: [0, 0, 0, 0, 0, 1, 1, 0] },
  ])("ranks on runners $placement", async ({ placement }) => {
    const n = placement.length;
    const results = await t.cluster.spmd({ size: n, placement }, t.m.requestsSuite);
    expect(results).toHaveLength(n);
    for (const [r, got] of results.entries()) {
      expect({ ...got, waitAny: undefined }, `rank ${r} of ${n}`).toStrictEqual(expected(r, n));
    }
    // Rank 0 took every other rank's message once; each index named the request that completed.
    const any = results[0]!.waitAny!;
    expect(any.map((a) => a.value)).toEqual(any.map((a) => `any from ${a.source}`));
    expect(any.map((a) => a.source).sort((a, b) => a - b)).toEqual(Array.from({ length: n - 1 }, (_, k) => k + 1));
  });
});
