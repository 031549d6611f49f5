import { describe, expect, it } from "vitest";
import {
  arrIn, bigInt64In, bigIntIn, bigVec, digest, f64In, i32In, subclassIn, type Reductions, type SuiteResult, type Tally, type TypedGot,
} from "./fixtures/spmd.ts";
import { useCluster } from "./use-cluster.ts";

type Spmd = typeof import("./fixtures/spmd.ts");

/** Float64s per rank in the large runs: 8 MB, past any eager/small-message threshold. */
const BIG = 1_000_000;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Folds rank 0..n-1's inputs left to right: the reference every collective is checked against. */
const fold = <T>(n: number, input: (r: number) => T, op: (a: T, b: T) => T): T => range(n).map(input).reduce((a, b) => op(a, b));

type Elementwise = Float64Array | Int32Array | BigInt64Array | number[];
function zip<T extends Elementwise>(op: (x: never, y: never) => unknown): (a: T, b: T) => T {
  const f = op as (x: unknown, y: unknown) => unknown;
  return (a, b) => {
    const out = a.slice() as T;
    for (let i = 0; i < a.length; i++) (out as unknown[])[i] = f(a[i], b[i]);
    return out;
  };
}
const add = (x: number, y: number): number => x + y;
const mul = (x: number, y: number): number => x * y;
const tallyOf = (ranks: number[]): Tally => ({ count: ranks.length, ranks });
const minMaxIn = (r: number): number => ((r * 5) % 7) - 3;

function expectedReductions(n: number): Reductions {
  return {
    sum: fold(n, (r) => r + 1, add),
    prod: fold(n, (r) => r + 1, mul),
    min: fold(n, minMaxIn, Math.min),
    max: fold(n, minMaxIn, Math.max),
    bitOr: 2 ** n - 1,
    tally: tallyOf(range(n)),
    f64: {
      sum: fold(n, f64In, zip(add)),
      prod: fold(n, f64In, zip(mul)),
      min: fold(n, f64In, zip(Math.min)),
      max: fold(n, f64In, zip(Math.max)),
      user: fold(n, f64In, zip(Math.max)),
    },
    i32: {
      sum: fold(n, i32In, zip(add)),
      prod: fold(n, i32In, zip(mul)),
      min: fold(n, i32In, zip(Math.min)),
      max: fold(n, i32In, zip(Math.max)),
    },
    arr: { sum: fold(n, arrIn, zip(add)), max: fold(n, arrIn, zip(Math.max)) },
    bigint: fold(n, bigIntIn, (a, b) => a + b),
    bigInt64: fold(n, bigInt64In, zip((x: bigint, y: bigint) => x + y)),
  };
}

const noReductions: Reductions = {
  sum: undefined, prod: undefined, min: undefined, max: undefined, bitOr: undefined, tally: undefined,
  f64: { sum: undefined, prod: undefined, min: undefined, max: undefined, user: undefined },
  i32: { sum: undefined, prod: undefined, min: undefined, max: undefined },
  arr: { sum: undefined, max: undefined },
  bigint: undefined, bigInt64: undefined,
};

/** What rank `r` of `n` must return from collectivesSuite, barring the barrier's timestamps. */
function expectedSuite(r: number, n: number, root: number, big: number): Omit<SuiteResult, "barrier"> {
  const all = expectedReductions(n);
  let large: SuiteResult["large"];
  if (big > 0) {
    const sum = new Float64Array(big);
    for (let i = 0; i < big; i++) sum[i] = n * (i % 1009) + (n * (n - 1)) / 2;
    large = {
      bcast: digest(bigVec(big, root)),
      allreduceSum: digest(sum),
      allreduceMax: digest(bigVec(big, n - 1)),
      reduceSum: r === root ? digest(sum) : undefined,
    };
  }
  return {
    rank: r,
    size: n,
    perRoot: range(n).map((k) => ({
      root: k,
      bcast: { root: k, note: `from ${k}`, m: new Map([[k, [k]]]) },
      scatter: { to: r, by: k },
      gather: r === k ? range(n).map((i) => [i, k]) : undefined,
      reduce: r === k ? ((k + 1) * n * (n + 1)) / 2 : undefined,
      tally: r === k ? tallyOf(range(n)) : undefined,
    })),
    bcastTyped: Float64Array.of(root, 0.5, -7),
    scatterTyped: Int32Array.of(r, -r, root),
    gatherTyped: r === root ? range(n).map((i) => new Int32Array(i + 1).fill(i)) : undefined,
    allgather: {
      numbers: range(n).map((i) => i * 10),
      strings: range(n).map((i) => `rank ${i}`),
      typed: range(n).map((i) => new Uint8Array(i).fill(i)),
      objects: range(n).map((i) => ({ r: i })),
    },
    reduce: r === root ? all : noReductions,
    allreduce: all,
    alltoall: {
      strings: range(n).map((j) => `${j}>${r}`),
      typed: range(n).map((j) => Int32Array.of(j, r)),
      objects: range(n).map((j) => ({ from: j, to: r })),
    },
    scan: {
      sum: fold(r + 1, (i) => i + 1, add),
      prod: fold(r + 1, (i) => i + 1, mul),
      min: fold(r + 1, minMaxIn, Math.min),
      max: fold(r + 1, minMaxIn, Math.max),
      concat: "abcdefgh".slice(0, r + 1),
      f64: Float64Array.of(((r + 1) * (r + 2)) / 2, r + 1),
      bigint: fold(r + 1, bigIntIn, (a, b) => a + b),
      tally: tallyOf(range(r + 1)),
    },
    large,
  };
}

/**
 * Checks subclassCollectives: every result is a Buffer (for Buffer inputs) or a Float64Array
 * (for the subclass) with the elements folded here, in the inputs' element type (a Buffer's
 * sums wrap at 256).
 */
function checkSubclassed(results: Awaited<ReturnType<Spmd["subclassCollectives"]>>[], kind: "buffer" | "subclass", length: number, root: number): void {
  const n = results.length;
  const Elements = kind === "buffer" ? Uint8Array : Float64Array;
  const inputs = range(n).map((r) => Elements.from(subclassIn(kind, length, r)));
  const zipped = (op: (x: number, y: number) => number) => (a: Uint8Array | Float64Array, b: Uint8Array | Float64Array) => a.map((x, i) => op(x, b[i]!));
  const sum = zipped(add);
  const max = zipped(Math.max);
  const upTo = (r: number, op: typeof sum): Uint8Array | Float64Array => inputs.slice(0, r + 1).reduce(op);
  const bytes = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const expectGot = (got: TypedGot | undefined, want: Uint8Array | Float64Array, what: string): void => {
    expect({ buffer: got?.buffer, float64: got?.float64 }, what).toEqual({ buffer: kind === "buffer", float64: kind === "subclass" });
    // Bytes, not elements: vitest's deep equality would walk the big arrays element by element.
    expect(bytes(got!.values).equals(bytes(want)), what).toBe(true);
  };
  for (const [r, got] of results.entries()) {
    expectGot(got.bcast, inputs[root]!, `bcast, rank ${r}`);
    expectGot(got.allreduceSum, upTo(n - 1, sum), `allreduce sum, rank ${r}`);
    expectGot(got.allreduceMax, upTo(n - 1, max), `allreduce max, rank ${r}`);
    expectGot(got.allreduceUser, upTo(n - 1, max), `allreduce with a function, rank ${r}`);
    if (r === root) expectGot(got.reduceSum, upTo(n - 1, sum), `reduce sum, root ${r}`);
    else expect(got.reduceSum, `reduce sum, rank ${r}`).toBeUndefined();
    expectGot(got.scanSum, upTo(r, sum), `scan sum, rank ${r}`);
  }
}

function check(results: SuiteResult[], n: number, root: number, big: number): void {
  expect(results).toHaveLength(n);
  // Nobody left the barrier before the last rank (which arrived late on purpose) entered it.
  const lastIn = Math.max(...results.map((s) => s.barrier.entered));
  for (const s of results) expect(s.barrier.left).toBeGreaterThanOrEqual(lastIn);
  for (const [r, s] of results.entries()) {
    expect({ ...s, barrier: null }, `rank ${r} of ${n}`).toStrictEqual({ ...expectedSuite(r, n, root, big), barrier: null });
  }
}

describe("spmd: collectives", () => {
  // Ranks of one runner share its thread on `t`; `threaded` spreads them over two.
  const t = useCluster<{ m: Spmd }>({ runners: 3, threads: 1 }, { m: "spmd.ts" });
  const threaded = useCluster<{ m: Spmd }>({ runners: 2, threads: 2 }, { m: "spmd.ts" });

  // Each run covers every collective, the small root-taking ones from every root.
  it.each(range(8).map((i) => i + 1))("%i ranks spread over 3 runners: every collective, typed and untyped, small and 8 MB", async (n) => {
    const root = n - 1;
    check(await t.cluster.spmd(n, t.m.collectivesSuite, { root, big: BIG }), n, root, BIG);
  });

  it.each([
    { placement: [0, 0, 0, 0, 1, 2], root: 4 },
    { placement: [2, 0, 0, 1, 1, 1, 0], root: 1 },
    { placement: [1, 1, 1, 1, 1], root: 2 },
    { placement: [2, 1, 0, 2, 1, 0, 2, 1], root: 6 },
  ])("ranks placed unevenly $placement, root $root", async ({ placement, root }) => {
    const n = placement.length;
    check(await t.cluster.spmd({ size: n, placement }, t.m.collectivesSuite, { root, big: BIG }), n, root, BIG);
  });

  // Regression: the reductions and the pipelined bcast named a typed array's kind by its
  // constructor's name, so a Buffer or a subclass failed the job ("unknown typed array kind").
  // Small arrays take the trees and recursive doubling; 64 KiB and more the rings and the chain.
  it.each([
    ...[3, 4].flatMap((n) => [
      { kind: "buffer" as const, n, length: 16 },
      { kind: "buffer" as const, n, length: 100_000 },
      { kind: "subclass" as const, n, length: 16 },
      { kind: "subclass" as const, n, length: 10_000 }, // 80 KB
    ]),
  ])("$kind inputs of $length elements on $n ranks: bcast, allreduce, reduce and scan", async ({ kind, n, length }) => {
    const root = n - 2;
    checkSubclassed(await t.cluster.spmd(n, t.m.subclassCollectives, kind, length, root), kind, length, root);
  });

  it("ranks on the threads of two runners (same thread, other thread, other process at once)", async () => {
    const placement = [0, 0, 1, 1, 0, 1, 0];
    const n = placement.length;
    const info = await threaded.cluster.spmd({ size: n, placement }, threaded.m.rankInfo);
    expect(new Set(info.map((i) => `${i.pid}/${i.thread}`)).size).toBe(4);
    check(await threaded.cluster.spmd({ size: n, placement }, threaded.m.collectivesSuite, { root: 3, big: BIG }), n, 3, BIG);
  });
});
