import type { ElementOp, LocOp, ReduceOp } from "../../comm.ts";
import { BINARY_KINDS, binaryKindOf, type BinaryKind } from "../../protocol/binary-kinds.ts";

// How reductions combine two ranks' values. Element-wise operations go element by element
// over typed arrays (one tight loop per operation and type) and plain arrays; maxloc and
// minloc over (value, index) pairs, never split (see LocOp in comm.ts for their forms).

export type { ElementOp, LocOp };
type NumberArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array | Uint8ClampedArray;
type BigArray = BigInt64Array | BigUint64Array;

const ELEMENT_OPS: readonly ElementOp[] = ["sum", "prod", "min", "max", "land", "lor", "lxor", "band", "bor", "bxor"];
const LOC_OPS: readonly LocOp[] = ["maxloc", "minloc"];
const BITWISE = new Set<string>(["band", "bor", "bxor"]);
const ELEMENT = new Set<string>(ELEMENT_OPS);
const LOC = new Set<string>(LOC_OPS);

export function isElementOp(op: unknown): op is ElementOp {
  return typeof op === "string" && ELEMENT.has(op);
}

export function isLocOp(op: unknown): op is LocOp {
  return typeof op === "string" && LOC.has(op);
}

const isBigArray = (v: unknown): v is BigArray => v instanceof BigInt64Array || v instanceof BigUint64Array;
const isNumberArray = (v: unknown): v is NumberArray => ArrayBuffer.isView(v) && !(v instanceof DataView) && !isBigArray(v);
const isFloatArray = (v: unknown): boolean => v instanceof Float64Array || v instanceof Float32Array;

/**
 * The op is a function or a known name, and fits `value` as far as one rank can tell; anything
 * else fails at the call site, before any message is sent.
 */
export function checkOp(op: unknown, where: string, value?: unknown): void {
  if (typeof op === "function") return;
  if (!isElementOp(op) && !isLocOp(op)) {
    throw new TypeError(`${where}: op must be one of ${[...ELEMENT_OPS, ...LOC_OPS].map((o) => `"${o}"`).join(", ")} or a function, got ${typeof op === "string" ? `"${op}"` : typeof op}`);
  }
  if (BITWISE.has(op)) {
    // Every rank finds the same fault here, before any message: none is left waiting for a partner that threw.
    if (isFloatArray(value)) throw new TypeError(`${where}: "${op}" works on integers, not on a ${(value as object).constructor.name}`);
    const bad = (Array.isArray(value) ? value : [value]).find((x: unknown) => typeof x === "boolean" || (typeof x === "number" && !Number.isSafeInteger(x)));
    if (bad !== undefined) throw new TypeError(`${where}: "${op}" works on integers, got ${String(bad)}`);
  }
  if (isLocOp(op) && isTypedArray(value) && value.length % 2 !== 0) {
    throw new RangeError(`${where}: "${op}" on a typed array takes (value, index) pairs interleaved: its length must be even, got ${value.length}`);
  }
}

/** Can `op` work on slices of `v` (the ring algorithms cut arrays into segments)? Pairs must stay whole. */
export function sliceable(v: unknown, op: unknown): v is NumberArray | BigArray {
  return isElementOp(op) && (isNumberArray(v) || isBigArray(v));
}

const truth = (x: number): boolean => x !== 0; // NaN is true, as in C

/** out[i] = a[i] op b[i]: one pass, where copying `a` into `out` first would be two. */
export function combineTo(op: ElementOp, out: NumberArray | BigArray, a: ArrayLike<number> | ArrayLike<bigint>, b: ArrayLike<number> | ArrayLike<bigint>): void {
  if (a.length !== out.length || b.length !== out.length) throw new RangeError(`reduce: ranks gave arrays of different lengths (${out.length}, ${a.length}, ${b.length})`);
  if (isBigArray(out)) {
    out.set(a as ArrayLike<bigint>);
    return combineBig(op, out, b as ArrayLike<bigint>);
  }
  if (BITWISE.has(op) && isFloatArray(out)) throw new TypeError(`reduce: "${op}" works on integers, not on a ${out.constructor.name}`);
  const o = out as Float64Array;
  const x = a as ArrayLike<number>;
  const y = b as ArrayLike<number>;
  const n = o.length;
  switch (op) {
    case "sum": for (let i = 0; i < n; i++) o[i] = x[i]! + y[i]!; break;
    case "prod": for (let i = 0; i < n; i++) o[i] = x[i]! * y[i]!; break;
    case "min": for (let i = 0; i < n; i++) o[i] = y[i]! < x[i]! ? y[i]! : x[i]!; break;
    case "max": for (let i = 0; i < n; i++) o[i] = y[i]! > x[i]! ? y[i]! : x[i]!; break;
    case "land": for (let i = 0; i < n; i++) o[i] = truth(x[i]!) && truth(y[i]!) ? 1 : 0; break;
    case "lor": for (let i = 0; i < n; i++) o[i] = truth(x[i]!) || truth(y[i]!) ? 1 : 0; break;
    case "lxor": for (let i = 0; i < n; i++) o[i] = truth(x[i]!) !== truth(y[i]!) ? 1 : 0; break;
    // Integer arrays of 32 bits at most: JavaScript's 32-bit operators, stored back modulo the type.
    case "band": for (let i = 0; i < n; i++) o[i] = x[i]! & y[i]!; break;
    case "bor": for (let i = 0; i < n; i++) o[i] = x[i]! | y[i]!; break;
    case "bxor": for (let i = 0; i < n; i++) o[i] = x[i]! ^ y[i]!; break;
  }
}

function combineBig(op: ElementOp, a: BigArray, b: ArrayLike<bigint>): void {
  const n = a.length;
  switch (op) {
    case "sum": for (let i = 0; i < n; i++) a[i] = a[i]! + b[i]!; break;
    case "prod": for (let i = 0; i < n; i++) a[i] = a[i]! * b[i]!; break;
    case "min": for (let i = 0; i < n; i++) if (b[i]! < a[i]!) a[i] = b[i]!; break;
    case "max": for (let i = 0; i < n; i++) if (b[i]! > a[i]!) a[i] = b[i]!; break;
    case "land": for (let i = 0; i < n; i++) a[i] = a[i]! !== 0n && b[i]! !== 0n ? 1n : 0n; break;
    case "lor": for (let i = 0; i < n; i++) a[i] = a[i]! !== 0n || b[i]! !== 0n ? 1n : 0n; break;
    case "lxor": for (let i = 0; i < n; i++) a[i] = (a[i]! !== 0n) !== (b[i]! !== 0n) ? 1n : 0n; break;
    case "band": for (let i = 0; i < n; i++) a[i] = a[i]! & b[i]!; break;
    case "bor": for (let i = 0; i < n; i++) a[i] = a[i]! | b[i]!; break;
    case "bxor": for (let i = 0; i < n; i++) a[i] = a[i]! ^ b[i]!; break;
  }
}

type Scalar = number | bigint | boolean;

function logical(op: "land" | "lor" | "lxor", a: Scalar, b: Scalar): Scalar {
  const x = typeof a === "bigint" ? a !== 0n : typeof a === "number" ? truth(a) : a;
  const y = typeof b === "bigint" ? b !== 0n : typeof b === "number" ? truth(b) : b;
  const r = op === "land" ? x && y : op === "lor" ? x || y : x !== y;
  return typeof a === "boolean" ? r : typeof a === "bigint" ? BigInt(r) : Number(r);
}

function bitwise(op: "band" | "bor" | "bxor", a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === "number" && !(Number.isSafeInteger(a) && Number.isSafeInteger(b))) {
    throw new TypeError(`reduce: "${op}" works on integers, got ${a} and ${String(b)}`);
  }
  // Through bigints: exact for every safe integer, where JavaScript's operators cut to 32 bits.
  const x = BigInt(a);
  const y = BigInt(b);
  const r = op === "band" ? x & y : op === "bor" ? x | y : x ^ y;
  return typeof a === "bigint" ? r : Number(r);
}

function scalar(op: ElementOp, a: Scalar, b: Scalar): Scalar {
  if (typeof a !== typeof b) throw new TypeError(`reduce: cannot combine a ${typeof a} with a ${typeof b}`);
  switch (op) {
    case "land": case "lor": case "lxor": return logical(op, a, b);
    case "band": case "bor": case "bxor":
      if (typeof a === "boolean") throw new TypeError(`reduce: "${op}" works on integers, not on booleans`);
      return bitwise(op, a, b as number | bigint);
  }
  switch (op) {
    case "sum": return (a as number) + (b as number);
    case "prod": return (a as number) * (b as number);
    case "min": return (b as number) < (a as number) ? b : a;
    case "max": return (b as number) > (a as number) ? b : a;
  }
}

/** Which of two (value, index) pairs wins: the better value, or on a tie the lower index. */
function locWins(op: LocOp, va: number | bigint, ia: number | bigint, vb: number | bigint, ib: number | bigint): boolean {
  if (va === vb) return ia <= ib;
  return op === "maxloc" ? va > vb : va < vb;
}

type Pair = readonly [number | bigint, number | bigint];

const isPair = (v: unknown): v is Pair =>
  Array.isArray(v) && v.length === 2 && (typeof v[0] === "number" || typeof v[0] === "bigint") && (typeof v[1] === "number" || typeof v[1] === "bigint");

function pair(op: LocOp, a: Pair, b: Pair): Pair {
  return locWins(op, a[0], a[1], b[0], b[1]) ? [a[0], a[1]] : [b[0], b[1]];
}

function combineLoc<T>(op: LocOp, a: T, b: T): T {
  if (isTypedArray(a) && isTypedArray(b)) {
    if (a.length !== b.length) throw new RangeError(`reduce: ranks gave arrays of different lengths (${a.length} and ${b.length})`);
    if (a.length % 2 !== 0) throw new RangeError(`reduce: "${op}" on a typed array takes (value, index) pairs interleaved: its length must be even, got ${a.length}`);
    const out = allocate(kindOf(a), a.length);
    const x = a as ArrayLike<number>;
    const y = b as ArrayLike<number>;
    const o = out as Float64Array;
    for (let i = 0; i < x.length; i += 2) {
      const w = locWins(op, x[i]!, x[i + 1]!, y[i]!, y[i + 1]!) ? x : y;
      o[i] = w[i]!;
      o[i + 1] = w[i + 1]!;
    }
    return out as T;
  }
  if (isPair(a) && isPair(b)) return pair(op, a, b) as T;
  if (Array.isArray(a) && Array.isArray(b) && a.every(isPair) && b.every(isPair)) {
    if (a.length !== b.length) throw new RangeError(`reduce: ranks gave arrays of different lengths (${a.length} and ${b.length})`);
    return a.map((x: Pair, i) => pair(op, x, b[i] as Pair)) as T;
  }
  throw new TypeError(`reduce: "${op}" works on a [value, index] pair, an array of such pairs, or a typed array of pairs interleaved`);
}

/**
 * `a op b`, where `a` holds the lower ranks' values (order matters to functions). Never
 * changes `a` or `b`: they may be the caller's own values or views of a received frame.
 */
export function combine<T>(op: ReduceOp<T>, a: T, b: T): T {
  if (typeof op === "function") return op(a, b);
  if (isLocOp(op)) return combineLoc(op, a, b);
  if (typeof a === "number" || typeof a === "bigint" || typeof a === "boolean") return scalar(op, a, b as Scalar) as T;
  if (isNumberArray(a) || isBigArray(a)) {
    const out = allocate(kindOf(a), a.length);
    combineTo(op, out, a, b as ArrayLike<number>);
    return out as T;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new RangeError(`reduce: ranks gave arrays of different lengths (${a.length} and ${b.length})`);
    return a.map((x: Scalar, i) => scalar(op, x, b[i] as Scalar)) as T;
  }
  throw new TypeError(`reduce: "${op}" works on numbers, bigints, booleans, typed arrays and arrays of them, not on ${a === null ? "null" : typeof a}; pass a function`);
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

/**
 * As allocate, without zeroing: for results the caller overwrites entirely before anyone sees
 * them. Buffer.allocUnsafeSlow gives an ArrayBuffer of its own; zeroing 8 MiB cost ~0.5-0.9 ms
 * of CPU on this machine, and the zeroing is what first touches (faults in) fresh pages.
 */
export function allocateUnset(kind: ArrayKind, length: number): NumberArray | BigArray {
  const C = BINARY_KINDS[kind];
  if (C === Buffer) return Buffer.allocUnsafeSlow(length);
  if (C === undefined || C === DataView || C === ArrayBuffer) throw new TypeError(`not a typed array kind: ${kind}`);
  const T = C as Float64ArrayConstructor;
  return new (C as new (b: ArrayBuffer, at: number, n: number) => NumberArray | BigArray)(Buffer.allocUnsafeSlow(length * T.BYTES_PER_ELEMENT).buffer as ArrayBuffer, 0, length);
}

export function isTypedArray(v: unknown): v is NumberArray | BigArray {
  return isNumberArray(v) || isBigArray(v);
}
