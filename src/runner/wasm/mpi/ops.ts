import type { ReduceOp } from "../../../comm.ts";
import { isPair, KIND_BYTES, type ElementKind, type PairKind, type ScalarKind } from "./datatypes.ts";
import type { NamedOpName } from "./messages.ts";

// MPI's predefined operations over the bytes of a datatype. The rank thread reads the bytes as
// a typed array of the type's kind (pairs as comm()'s interleaved pairs) and reduces with
// comm()'s op of the same name. User ops (MPI_Op_create) are C functions: only the Wasm thread
// can run them (user-ops.ts).

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

/**
 * How the rank thread hands `rop` to comm(): by name, except the product of 32-bit integers,
 * whose low bits a product of doubles loses (C keeps them: Math.imul does too).
 */
export function commOp(rop: NamedOpName, kind: ElementKind): ReduceOp<Scalars> {
  if (rop === "prod" && (kind === "i32" || kind === "u32")) return imulArrays;
  return rop;
}

function imulArrays(a: Scalars, b: Scalars): Scalars {
  const out = a.slice() as Int32Array;
  const y = b as Int32Array;
  for (let i = 0; i < out.length; i++) out[i] = Math.imul(out[i]!, y[i]!);
  return out;
}

/** A pair kind's value reader and writer at a byte offset (the index is the int at VALUE_BYTES). */
const PAIR_VALUE: Record<PairKind, { at: number; get: (d: DataView, o: number) => number; set: (d: DataView, o: number, v: number) => void }> = {
  "f64+i32": { at: 8, get: (d, o) => d.getFloat64(o, true), set: (d, o, v) => d.setFloat64(o, v, true) },
  "f32+i32": { at: 4, get: (d, o) => d.getFloat32(o, true), set: (d, o, v) => d.setFloat32(o, v, true) },
  "i32+i32": { at: 4, get: (d, o) => d.getInt32(o, true), set: (d, o, v) => d.setInt32(o, v, true) },
  "i16+i32": { at: 4, get: (d, o) => d.getInt16(o, true), set: (d, o, v) => d.setInt16(o, v, true) },
};

/**
 * The bytes as comm() reduces them: a typed array of the kind; pairs (MAXLOC/MINLOC's structs)
 * as comm()'s interleaved [v0, i0, v1, i1…] in a Float64Array, which holds every float, int
 * and short exactly.
 */
export function toCommElements(kind: ElementKind, bytes: Uint8Array): Scalars {
  if (!isPair(kind)) return elementsOf(kind, bytes);
  const stride = KIND_BYTES[kind];
  const { at, get } = PAIR_VALUE[kind];
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.byteLength / stride);
  const out = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    out[2 * k] = get(d, k * stride);
    out[2 * k + 1] = d.getInt32(k * stride + at, true);
  }
  return out;
}

/** comm()'s result back as the datatype's bytes (pairs laid out as C does, padding zero). */
export function fromCommElements(kind: ElementKind, v: ArrayBufferView): Uint8Array {
  if (!isPair(kind)) return bytesOf(v);
  const pairs = v as Float64Array;
  const stride = KIND_BYTES[kind];
  const { at, set } = PAIR_VALUE[kind];
  const out = new Uint8Array((pairs.length / 2) * stride);
  const d = new DataView(out.buffer);
  for (let k = 0; k < pairs.length / 2; k++) {
    set(d, k * stride, pairs[2 * k]!);
    d.setInt32(k * stride + at, pairs[2 * k + 1]!, true);
  }
  return out;
}
