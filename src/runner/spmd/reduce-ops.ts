import type { ReduceOp } from "../../comm.ts";
import { BINARY_KINDS, binaryKindOf, type BinaryKind } from "../../protocol/binary-kinds.ts";

// How reductions combine two ranks' values. Named operations go element by element over
// typed arrays (one tight loop per operation and type) and plain arrays of numbers.

export type NamedOp = "sum" | "prod" | "min" | "max";
type NumberArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array | Uint8ClampedArray;
type BigArray = BigInt64Array | BigUint64Array;

const NAMED = new Set<string>(["sum", "prod", "min", "max"]);

export function isNamedOp(op: unknown): op is NamedOp {
  return typeof op === "string" && NAMED.has(op);
}

/** The op is a function or a known name; anything else fails at the call site. */
export function checkOp(op: unknown, where: string): void {
  if (typeof op !== "function" && !isNamedOp(op)) {
    throw new TypeError(`${where}: op must be "sum", "prod", "min", "max" or a function, got ${typeof op === "string" ? `"${op}"` : typeof op}`);
  }
}

const isBigArray = (v: unknown): v is BigArray => v instanceof BigInt64Array || v instanceof BigUint64Array;
const isNumberArray = (v: unknown): v is NumberArray => ArrayBuffer.isView(v) && !(v instanceof DataView) && !isBigArray(v);

/** Can `op` work on slices of `v` (the ring algorithms cut arrays into segments)? */
export function sliceable(v: unknown, op: unknown): v is NumberArray | BigArray {
  return isNamedOp(op) && (isNumberArray(v) || isBigArray(v));
}

/** out[i] = a[i] op b[i]: one pass, where copying `a` into `out` first would be two. */
export function combineTo(op: NamedOp, out: NumberArray | BigArray, a: ArrayLike<number> | ArrayLike<bigint>, b: ArrayLike<number> | ArrayLike<bigint>): void {
  if (a.length !== out.length || b.length !== out.length) throw new RangeError(`reduce: ranks gave arrays of different lengths (${out.length}, ${a.length}, ${b.length})`);
  if (isBigArray(out)) {
    out.set(a as ArrayLike<bigint>);
    return combineBig(op, out, b as ArrayLike<bigint>);
  }
  const o = out as Float64Array;
  const x = a as ArrayLike<number>;
  const y = b as ArrayLike<number>;
  const n = o.length;
  switch (op) {
    case "sum": for (let i = 0; i < n; i++) o[i] = x[i]! + y[i]!; break;
    case "prod": for (let i = 0; i < n; i++) o[i] = x[i]! * y[i]!; break;
    case "min": for (let i = 0; i < n; i++) o[i] = y[i]! < x[i]! ? y[i]! : x[i]!; break;
    case "max": for (let i = 0; i < n; i++) o[i] = y[i]! > x[i]! ? y[i]! : x[i]!; break;
  }
}

function combineBig(op: NamedOp, a: BigArray, b: ArrayLike<bigint>): void {
  const n = a.length;
  switch (op) {
    case "sum": for (let i = 0; i < n; i++) a[i] = a[i]! + b[i]!; break;
    case "prod": for (let i = 0; i < n; i++) a[i] = a[i]! * b[i]!; break;
    case "min": for (let i = 0; i < n; i++) if (b[i]! < a[i]!) a[i] = b[i]!; break;
    case "max": for (let i = 0; i < n; i++) if (b[i]! > a[i]!) a[i] = b[i]!; break;
  }
}

function scalar(op: NamedOp, a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a !== typeof b) throw new TypeError(`reduce: cannot combine a ${typeof a} with a ${typeof b}`);
  switch (op) {
    case "sum": return (a as number) + (b as number);
    case "prod": return (a as number) * (b as number);
    case "min": return b < a ? b : a;
    case "max": return b > a ? b : a;
  }
}

/**
 * `a op b`, where `a` holds the lower ranks' values (order matters to functions). Never
 * changes `a` or `b`: they may be the caller's own values or views of a received frame.
 */
export function combine<T>(op: ReduceOp<T>, a: T, b: T): T {
  if (typeof op === "function") return op(a, b);
  if (typeof a === "number" || typeof a === "bigint") return scalar(op, a, b as number | bigint) as T;
  if (isNumberArray(a) || isBigArray(a)) {
    const out = allocate(kindOf(a), a.length);
    combineTo(op, out, a, b as ArrayLike<number>);
    return out as T;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new RangeError(`reduce: ranks gave arrays of different lengths (${a.length} and ${b.length})`);
    return a.map((x: number | bigint, i) => scalar(op, x, b[i] as number | bigint)) as T;
  }
  throw new TypeError(`reduce: "${op}" works on numbers, bigints, typed arrays and arrays of numbers, not on ${a === null ? "null" : typeof a}; pass a function`);
}

/**
 * A typed array's kind, as the codec sees it (BINARY_KINDS): receivers allocate what a sender
 * describes, and results take their inputs' kind. A subclass counts as the class it extends.
 */
export type ArrayKind = BinaryKind;

export function kindOf(v: NumberArray | BigArray): ArrayKind {
  return binaryKindOf(v);
}

export function allocate(kind: ArrayKind, length: number): NumberArray | BigArray {
  const C = BINARY_KINDS[kind];
  if (C === Buffer) return Buffer.alloc(length);
  if (C === undefined || C === DataView || C === ArrayBuffer) throw new TypeError(`not a typed array kind: ${kind}`);
  return new (C as new (n: number) => NumberArray | BigArray)(length);
}

export function isTypedArray(v: unknown): v is NumberArray | BigArray {
  return isNumberArray(v) || isBigArray(v);
}
