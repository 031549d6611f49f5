// How an answer's bytes cross back to the Wasm thread. A structured clone copies an ArrayBuffer
// twice (serialize, deserialize), and clones the whole buffer under a view: a received 8 B
// message that is a view into a bigger frame carried the frame along. Measured on allreduce of
// 2^20 doubles (8 MiB, 2 ranks, the 2-core VM under load): the cloned answer took 4-43 ms
// between the rank thread posting it and the Wasm thread holding it, against the ~35 ms of
// comm()'s allreduce itself. Every array the executor answers with is fresh (decoded from the
// wire, a collective's result, or bytes the Wasm thread sent and moved here), so its buffer can
// move: views over part of a buffer are cut out first (copying only their own bytes).

/** Below this, a clone's copy costs less than detaching and re-wrapping a buffer. */
const MOVE_MIN = 64 * 1024;

/** The answer's byte arrays made movable, and the buffers to move with it. */
export function movable(value: unknown): { value: unknown; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const walk = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return bytes(v, transfer);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  const out = walk(value);
  return { value: out, transfer: [...transfer] };
}

function bytes(v: Uint8Array, transfer: Set<ArrayBuffer>): Uint8Array {
  // Shared memory (a big message from a rank on this runner) is not copied by a clone.
  if (!(v.buffer instanceof ArrayBuffer)) return v;
  const whole = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;
  const own = whole ? v : v.slice();
  // Two views of one buffer may be whole only if they are the same bytes: move it once.
  if (own.byteLength >= MOVE_MIN) transfer.add(own.buffer as ArrayBuffer);
  return own;
}
