// The kinds of binary value that cross the wire, and the one way to tell which kind a value
// is: its own class if that is one of them, else the nearest one it extends. So a subclass
// (class F extends Float64Array) is a Float64Array, as structured clone has it, while a
// Buffer stays a Buffer. The codec writes the kind's index as the kind byte; the SPMD
// reductions allocate their results and receive buffers by it.

/** Index = kind byte on the wire. Buffer before Uint8Array, which it extends. */
export const BINARY_KINDS = [
  Buffer, Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView, ArrayBuffer,
] as const;

/** An index into BINARY_KINDS. */
export type BinaryKind = number;

type KindClass = (typeof BINARY_KINDS)[number];

export function binaryKindOf(v: ArrayBufferView | ArrayBuffer): BinaryKind {
  // The own class first: the common case, and one lookup.
  const own = BINARY_KINDS.indexOf((v as object).constructor as KindClass);
  if (own >= 0) return own;
  const base = BINARY_KINDS.findIndex((K) => v instanceof K);
  if (base < 0) throw new TypeError(`not a binary value of this realm: ${Object.prototype.toString.call(v)}`);
  return base;
}
