import { BINARY_KINDS, binaryKindOf } from "../../protocol/binary-kinds.ts";

// A message between ranks on threads of one process that is a typed array, an ArrayBuffer or
// a DataView crosses the ring as its bytes alone, its kind in the record's header: no msgpack
// on either side. MPI's messages are mostly such buffers, and for an 8 B one the codec was
// most of the JS cost: encodeValue 1.0 µs and decodeValue 2.6 µs per message (structured
// clone's reference map, the extension's copies and views), against an 8 B round trip target
// of 10 µs (measured in one thread, loaded 2-CPU VM; docs/decisions.md). The value that comes
// out is what the codec would give: the same class (a subclass as its base kind, a Buffer as a
// Buffer), its own memory, never shared.

/** The header's `raw` field for a record in the codec's encoding. */
export const RAW_NONE = 0;

const UINT8 = BINARY_KINDS.indexOf(Uint8Array);
const BUFFER = BINARY_KINDS.indexOf(Buffer);
const ARRAY_BUFFER = BINARY_KINDS.indexOf(ArrayBuffer);
const DATA_VIEW = BINARY_KINDS.indexOf(DataView);

/** A value sent as its bytes: the header's `raw` (kind + 1) and the bytes, or undefined for any other value. */
export function rawOf(value: unknown): { raw: number; bytes: Uint8Array } | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  // The common case first, and without asking for its buffer (see rawValue).
  if (value.constructor === Uint8Array) return { raw: UINT8 + 1, bytes: value as Uint8Array };
  if (value instanceof ArrayBuffer) return { raw: ARRAY_BUFFER + 1, bytes: new Uint8Array(value) };
  if (!ArrayBuffer.isView(value)) return undefined; // a SharedArrayBuffer too: the codec refuses it
  return { raw: binaryKindOf(value) + 1, bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) };
}

/**
 * The value of `raw` made on `memory` (exactly its bytes, a buffer of its own: the receiver's).
 * A Uint8Array is `memory` itself: a small one stays on V8's heap, where asking for its
 * buffer (to make a view) would move it out (~0.3 µs).
 */
export function rawValue(raw: number, memory: Uint8Array): unknown {
  const kind = raw - 1;
  if (kind === UINT8) return memory;
  const ctor = BINARY_KINDS[kind];
  if (ctor === undefined) throw new TypeError(`unknown binary kind ${kind}`);
  const n = memory.byteLength;
  if (kind === BUFFER) return Buffer.from(memory.buffer, memory.byteOffset, n);
  if (kind === ARRAY_BUFFER) return memory.byteOffset === 0 && memory.buffer.byteLength === n ? memory.buffer : memory.slice().buffer;
  if (kind === DATA_VIEW) return new DataView(memory.buffer, memory.byteOffset, n);
  const T = ctor as Float64ArrayConstructor; // any element type; BYTES_PER_ELEMENT says which
  return new T(memory.buffer, memory.byteOffset, n / T.BYTES_PER_ELEMENT);
}
