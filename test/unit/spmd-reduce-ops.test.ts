import { describe, expect, it } from "vitest";
import type { ReduceOp } from "../../src/comm.ts";
import { checkOp, combine, sliceable } from "../../src/runner/spmd/reduce-ops.ts";

// The named operations as MPI defines them, on every form of operand they take.

const c = <T>(op: ReduceOp<T>, a: T, b: T): T => combine(op, a, b);

describe("reduce ops: logical (land, lor, lxor)", () => {
  it("give 1 or 0 on numbers (non-zero is true, NaN included, as in C), bigints on bigints, booleans on booleans", () => {
    expect([c("land", 3, -2), c("land", 3, 0), c("lor", 0, 0), c("lor", 0, 0.5), c("lxor", 1, 7), c("lxor", 0, 7)]).toEqual([1, 0, 0, 1, 0, 1]);
    expect(c("land", NaN, 1)).toBe(1);
    expect([c("land", 5n, 0n), c("lor", 5n, 0n), c("lxor", 5n, 2n)]).toEqual([0n, 1n, 0n]);
    expect([c("land", true, false), c("lor", true, false), c("lxor", true, true)]).toEqual([false, true, false]);
  });

  it("go element by element over typed arrays (float ones too) and arrays", () => {
    const a = Float64Array.of(0, 1, 2.5, 0);
    const b = Float64Array.of(0, 0, -1, 3);
    expect(c("land", a, b)).toEqual(Float64Array.of(0, 0, 1, 0));
    expect(c("lor", a, b)).toEqual(Float64Array.of(0, 1, 1, 1));
    expect(c("lxor", a, b)).toEqual(Float64Array.of(0, 1, 0, 1));
    expect(c("lxor", BigInt64Array.of(0n, 4n), BigInt64Array.of(1n, 4n))).toEqual(BigInt64Array.of(1n, 0n));
    expect(c("lor", [0, 0, 9], [0, 2, 0])).toEqual([0, 1, 1]);
  });
});

describe("reduce ops: bitwise (band, bor, bxor)", () => {
  it("on integer typed arrays, wrapping as the element type does (Uint32 high bits, Int8 sign)", () => {
    const a = Uint32Array.of(0xffff0000, 0x0f0f0f0f, 0x80000001);
    const b = Uint32Array.of(0x00ffff00, 0xf0f0f0f0, 0x80000000);
    expect(c("band", a, b)).toEqual(Uint32Array.of(0x00ff0000, 0, 0x80000000));
    expect(c("bor", a, b)).toEqual(Uint32Array.of(0xffffff00, 0xffffffff, 0x80000001));
    expect(c("bxor", a, b)).toEqual(Uint32Array.of(0xff00ff00, 0xffffffff, 1));
    expect(c("bxor", Int8Array.of(-1, 5), Int8Array.of(1, 3))).toEqual(Int8Array.of(-2, 6));
    expect(c("band", BigUint64Array.of(2n ** 64n - 1n), BigUint64Array.of(2n ** 63n + 5n))).toEqual(BigUint64Array.of(2n ** 63n + 5n));
  });

  it("on numbers exactly beyond 32 bits (safe integers), on bigints, and on arrays", () => {
    expect(c("bor", 2 ** 40, 1)).toBe(2 ** 40 + 1);
    expect(c("band", -1, 2 ** 35 + 3)).toBe(2 ** 35 + 3);
    expect(c("bxor", 6n, 3n)).toBe(5n);
    expect(c("band", [12, 10], [10, 6])).toEqual([8, 2]);
  });

  it("refuse floats: a float typed array, a fraction, a boolean", () => {
    expect(() => c("band", Float64Array.of(1), Float64Array.of(1))).toThrow(TypeError);
    expect(() => c("bor", Float32Array.of(1), Float32Array.of(1))).toThrow(/integers/);
    expect(() => c("bxor", 1.5, 1)).toThrow(TypeError);
    expect(() => c("band", true, true)).toThrow(TypeError);
    expect(() => checkOp("band", "allreduce", new Float64Array(2))).toThrow(/allreduce: "band" works on integers/);
    // At the call site, so that no rank waits on a partner that threw half way.
    expect(() => checkOp("bxor", "reduce", 0.5)).toThrow(/reduce: "bxor" works on integers, got 0.5/);
    expect(() => checkOp("bor", "scan", [1, 2, 3.5])).toThrow(TypeError);
    expect(() => checkOp("band", "scan", true)).toThrow(TypeError);
    expect(() => checkOp("band", "scan", [1, 2 ** 40])).not.toThrow();
  });
});

describe("reduce ops: maxloc, minloc", () => {
  it("on [value, index] pairs: the better value wins; a tie takes the lower index, in either order", () => {
    expect(c("maxloc", [3, 7], [5, 9])).toEqual([5, 9]);
    expect(c("maxloc", [5, 9], [3, 7])).toEqual([5, 9]);
    expect(c("minloc", [3, 7], [5, 1])).toEqual([3, 7]);
    expect(c("maxloc", [4, 6], [4, 2])).toEqual([4, 2]);
    expect(c("maxloc", [4, 2], [4, 6])).toEqual([4, 2]);
    expect(c("minloc", [-1, 3], [-1, 0])).toEqual([-1, 0]);
    expect(c("minloc", [1n, 3], [1n, 2])).toEqual([1n, 2]);
  });

  it("on arrays of pairs and on typed arrays of pairs interleaved (MPI_2INT, MPI_DOUBLE_INT as Float64Array)", () => {
    expect(c("minloc", [[1, 0], [8, 0], [2, 5]], [[2, 1], [8, 1], [2, 4]])).toEqual([[1, 0], [8, 0], [2, 4]]);
    expect(c("maxloc", Int32Array.of(1, 0, 8, 3, 2, 5), Int32Array.of(2, 1, 8, 1, 2, 9))).toEqual(Int32Array.of(2, 1, 8, 1, 2, 5));
    expect(c("minloc", Float64Array.of(0.5, 4, -2, 1), Float64Array.of(0.5, 2, -1, 0))).toEqual(Float64Array.of(0.5, 2, -2, 1));
  });

  it("refuse what is not pairs, and never reach the ring algorithms (pairs must not be split)", () => {
    expect(() => c("maxloc", 3 as unknown as [number, number], 4 as unknown as [number, number])).toThrow(TypeError);
    expect(() => c("maxloc", Int32Array.of(1, 2, 3), Int32Array.of(1, 2, 3))).toThrow(RangeError);
    expect(() => checkOp("minloc", "reduce", new Float64Array(3))).toThrow(/reduce: "minloc".*even/);
    expect(sliceable(new Float64Array(1 << 20), "maxloc")).toBe(false);
    expect(sliceable(new Float64Array(1 << 20), "band")).toBe(true);
  });
});

describe("reduce ops: checkOp", () => {
  it("names the call and the allowed ops", () => {
    expect(() => checkOp("avg", "scan")).toThrow(/^scan: op must be one of "sum".*"maxloc", "minloc" or a function, got "avg"$/);
    expect(() => checkOp(3, "exscan")).toThrow(TypeError);
    expect(() => checkOp((a: number) => a, "reduce")).not.toThrow();
  });
});
