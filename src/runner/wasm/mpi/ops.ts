import type { ReduceOp } from "../../../comm.ts";
import { isPair, KIND_BYTES, type ElementKind, type PairKind, type ScalarKind } from "./datatypes.ts";
import type { NamedOpName } from "./messages.ts";

// MPI's predefined operations over the bytes of a datatype. The rank thread reads the bytes as
// a typed array of the type's kind and reduces with comm(): sum/prod/min/max go to comm() by
// name (its ring algorithms slice named ops over large arrays), the others as functions here.
// User ops (MPI_Op_create) are C functions: only the Wasm thread can run them (collectives.ts).

/** The predefined ops by handle (include/mpi.h). */
export const NAMED_OPS: ReadonlyMap<number, NamedOpName> = new Map([
  [1, "max"], [2, "min"], [3, "sum"], [4, "prod"], [5, "land"], [6, "band"],
  [7, "lor"], [8, "bor"], [9, "lxor"], [10, "bxor"], [11, "maxloc"], [12, "minloc"],
]);

export const OP_NAMES: Record<NamedOpName, string> = {
  max: "MPI_MAX", min: "MPI_MIN", sum: "MPI_SUM", prod: "MPI_PROD", land: "MPI_LAND", band: "MPI_BAND",
  lor: "MPI_LOR", bor: "MPI_BOR", lxor: "MPI_LXOR", bxor: "MPI_BXOR", maxloc: "MPI_MAXLOC", minloc: "MPI_MINLOC",
};

/** An op handle's meaning: predefined, or a C function (its table index) from MPI_Op_create. */
export type OpInfo = { readonly named: NamedOpName } | { readonly fn: number; readonly commute: boolean };

/** Why `op` cannot reduce elements of `kind` (MPI's table of valid pairs), or undefined. */
export function opMisfit(rop: NamedOpName, kind: ElementKind, typeName: string): string | undefined {
  const pair = isPair(kind);
  const why = `${OP_NAMES[rop]} does not apply to ${typeName}`;
  if (rop === "maxloc" || rop === "minloc") return pair ? undefined : `${why} (use a pair type: MPI_DOUBLE_INT, MPI_2INT…)`;
  if (pair) return `${why} (pair types take MPI_MAXLOC and MPI_MINLOC)`;
  const float = kind === "f32" || kind === "f64";
  if (kind === "byte") return rop === "band" || rop === "bor" || rop === "bxor" ? undefined : why;
  if (kind === "bool") return rop === "land" || rop === "lor" || rop === "lxor" ? undefined : why;
  if (float && (rop === "band" || rop === "bor" || rop === "bxor")) return why;
  return undefined;
}

type Scalars = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

const ARRAYS: Record<ScalarKind, new (buffer: ArrayBuffer, offset: number, length: number) => Scalars> = {
  i8: Int8Array, u8: Uint8Array, bool: Uint8Array, byte: Uint8Array, i16: Int16Array, u16: Uint16Array,
  i32: Int32Array, u32: Uint32Array, i64: BigInt64Array, u64: BigUint64Array, f32: Float32Array, f64: Float64Array,
};

/** The elements in `bytes`: a typed array of the kind (pair kinds stay bytes). */
export function elementsOf(kind: ElementKind, bytes: Uint8Array): Scalars {
  if (isPair(kind)) return bytes;
  const width = KIND_BYTES[kind];
  if (bytes.byteLength % width !== 0) throw new RangeError(`${bytes.byteLength} bytes are not whole ${kind} elements`);
  // A received frame may put the bytes at any offset: typed arrays need them aligned.
  const b = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  return new ARRAYS[kind](b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / width);
}

export function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** How the rank thread hands `rop` to comm() for elements of `kind`. */
export function commOp(rop: NamedOpName, kind: ElementKind): ReduceOp<Scalars> {
  const byName = rop === "sum" || rop === "min" || rop === "max" || (rop === "prod" && kind !== "i32" && kind !== "u32");
  return byName && !isPair(kind) ? rop : combiner(rop, kind);
}

/** `a op b` element by element into a new array (`a` holds the lower ranks). */
export function combiner(rop: NamedOpName, kind: ElementKind): (a: Scalars, b: Scalars) => Scalars {
  if (isPair(kind)) return (a, b) => pairs(rop === "maxloc", kind, a as Uint8Array, b as Uint8Array);
  const f = scalarOp(rop, kind === "i64" || kind === "u64");
  return (a, b) => {
    if (a.length !== b.length) throw new RangeError(`reduce: ranks gave ${a.length} and ${b.length} elements`);
    const out = a.slice() as Scalars;
    const o = out as unknown as { [i: number]: number | bigint };
    const y = b as unknown as ArrayLike<number | bigint>;
    for (let i = 0; i < out.length; i++) o[i] = f(o[i]!, y[i]!);
    return out;
  };
}

type Binary = (x: number | bigint, y: number | bigint) => number | bigint;

function scalarOp(rop: NamedOpName, big: boolean): Binary {
  const one = big ? 1n : 1;
  const zero = big ? 0n : 0;
  const t = (x: number | bigint) => x !== zero;
  switch (rop) {
    case "sum": return (x, y) => (x as number) + (y as number);
    case "prod": return big ? (x, y) => (x as bigint) * (y as bigint) : (x, y) => Math.imul(x as number, y as number);
    case "max": return (x, y) => (y > x ? y : x);
    case "min": return (x, y) => (y < x ? y : x);
    case "land": return (x, y) => (t(x) && t(y) ? one : zero);
    case "lor": return (x, y) => (t(x) || t(y) ? one : zero);
    case "lxor": return (x, y) => (t(x) !== t(y) ? one : zero);
    case "band": return (x, y) => (x as number) & (y as number);
    case "bor": return (x, y) => (x as number) | (y as number);
    case "bxor": return (x, y) => (x as number) ^ (y as number);
    default: throw new TypeError(`${rop} needs a pair type`);
  }
}

/** MAXLOC/MINLOC: the larger (smaller) value with its index; on a tie, the smaller index. */
function pairs(max: boolean, kind: PairKind, a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength !== b.byteLength) throw new RangeError(`reduce: ranks gave ${a.byteLength} and ${b.byteLength} bytes`);
  const out = a.slice();
  const x = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const y = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stride = KIND_BYTES[kind];
  const at = kind === "f64+i32" ? 8 : 4;
  const read = kind === "f64+i32" ? (d: DataView, o: number) => d.getFloat64(o, true)
    : kind === "f32+i32" ? (d: DataView, o: number) => d.getFloat32(o, true)
    : kind === "i16+i32" ? (d: DataView, o: number) => d.getInt16(o, true)
    : (d: DataView, o: number) => d.getInt32(o, true);
  for (let o = 0; o < out.byteLength; o += stride) {
    const va = read(x, o);
    const vb = read(y, o);
    const ia = x.getInt32(o + at, true);
    const ib = y.getInt32(o + at, true);
    const takeB = max ? vb > va : vb < va;
    if (takeB || (vb === va && ib < ia)) out.set(b.subarray(o, o + stride), o);
  }
  return out;
}
