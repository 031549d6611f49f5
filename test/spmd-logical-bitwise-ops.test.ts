import { describe, expect, it } from "vitest";
import { bigBitsIn, bitsIn, flagsIn } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_LAND, MPI_LOR, MPI_LXOR (1 or 0; non-zero is true), MPI_BAND, MPI_BOR, MPI_BXOR
// (integers only) in allreduce over the ranks, on typed arrays, bigints, numbers, booleans.

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const OPS = ["land", "lor", "lxor", "band", "bor", "bxor"] as const;
type Op = (typeof OPS)[number];

/** op on the truth values or on the bits, the way MPI defines it for C integers. */
function big(op: Op, a: bigint, b: bigint): bigint {
  switch (op) {
    case "land": return a !== 0n && b !== 0n ? 1n : 0n;
    case "lor": return a !== 0n || b !== 0n ? 1n : 0n;
    case "lxor": return (a !== 0n) !== (b !== 0n) ? 1n : 0n;
    case "band": return a & b;
    case "bor": return a | b;
    case "bxor": return a ^ b;
  }
}
const num = (op: Op, a: number, b: number): number => Number(BigInt.asIntN(64, big(op, BigInt(a), BigInt(b))));
const truthy = (op: "land" | "lor" | "lxor", xs: boolean[]): boolean => xs.reduce((a, b) => (op === "land" ? a && b : op === "lor" ? a || b : a !== b));
const f64Truth = (x: number): boolean => x !== 0;

function expected(n: number): Record<string, unknown> {
  const qs = range(n);
  const zipped = <A extends Int32Array | Uint8Array | BigInt64Array>(arrays: A[], f: (a: never, b: never) => unknown): A =>
    arrays.reduce((a, b) => {
      const out = a.slice() as A;
      for (let i = 0; i < a.length; i++) (out as unknown as unknown[])[i] = f(a[i] as never, b[i] as never);
      return out;
    });
  const out: Record<string, unknown> = {};
  for (const op of OPS) {
    out[`${op} i32`] = zipped(qs.map(bitsIn), (a: number, b: number) => num(op, a, b) | 0);
    out[`${op} u8`] = zipped(qs.map(flagsIn), (a: number, b: number) => num(op, a, b));
    out[`${op} i64`] = zipped(qs.map(bigBitsIn), (a: bigint, b: bigint) => BigInt.asIntN(64, big(op, a, b)));
    out[`${op} number`] = qs.map((r) => 2 ** 33 + (1 << r) + (r % 2)).reduce((a, b) => num(op, a, b));
  }
  for (const op of ["land", "lor", "lxor"] as const) {
    out[`${op} boolean`] = truthy(op, qs.map((r) => r % 3 === 0));
    // One rank's value comes back as it is, as in MPI: nothing was combined.
    out[`${op} f64`] = n === 1 ? Float64Array.of(0, NaN, 0) : Float64Array.from([0, 1, 2], (i) => (truthy(op, qs.map((r) => f64Truth([r * 0.5, NaN, 0][i]!))) ? 1 : 0));
  }
  const bor = new Int32Array(100_000).map((_, i) => qs.reduce((a, r) => a | ((i + r) & 0xff), 0));
  out["bor big"] = { length: bor.length, sum: bor.reduce((s, x) => s + x, 0) };
  return out;
}

describe("spmd: logical and bitwise ops", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [1] },
    { placement: [0, 1] },
    { placement: [0, 1, 0] },
    { placement: [1, 1, 1, 0] },
    { placement: [0, 0, 0, 0, 1] },
    { placement: [1, 0, 0, 1, 1, 1, 0, 0] },
  ])("ranks on runners $placement", async ({ placement }) => {
    const n = placement.length;
    const results = await t.cluster.spmd({ size: n, placement }, t.m.logicalBitwiseSuite);
    for (const [r, got] of results.entries()) {
      const { "band f64 error": bandErr, "bxor fraction error": bxorErr, ...rest } = got;
      expect(rest, `rank ${r} of ${n}`).toStrictEqual(expected(n));
      expect(bandErr).toEqual({ name: "TypeError", message: 'allreduce: "band" works on integers, not on a Float64Array' });
      expect(bxorErr).toEqual({ name: "TypeError", message: 'allreduce: "bxor" works on integers, got 0.5' });
    }
  });
});
