// Bounds checks on the program's linear memory. Every buffer an MPI call reads or writes is
// checked whole (pointer + count x extent inside memory) before the call touches any of it:
// MPIWasm checked the first element only, so a count one too large read or wrote past the
// buffer. Pointers arrive as signed i32 and are read unsigned.

/** A checked region of linear memory. */
export interface Span {
  readonly ptr: number;
  readonly bytes: number;
}

/** Throws `fail(reason)` unless [ptr, ptr + bytes) lies inside `memory`. */
export function checkSpan(memory: ArrayBuffer, ptr: number, bytes: number, what: string, fail: (reason: string) => Error): Span {
  const p = ptr >>> 0;
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw fail(`${what}: size ${bytes} is not a byte count`);
  if (p > memory.byteLength) throw fail(`${what}: pointer 0x${p.toString(16)} is past the end of memory (${memory.byteLength} bytes)`);
  if (p + bytes > memory.byteLength) {
    throw fail(`${what}: ${bytes} bytes at 0x${p.toString(16)} run ${p + bytes - memory.byteLength} bytes past the end of memory (${memory.byteLength} bytes)`);
  }
  return { ptr: p, bytes };
}

/** A copy of a checked span: the program may change its memory once the call returns. */
export function readSpan(memory: ArrayBuffer, s: Span): Uint8Array {
  return new Uint8Array(memory.slice(s.ptr, s.ptr + s.bytes));
}

/** Writes `data` at a checked span's start; `data` must fit in it (callers check). */
export function writeSpan(memory: ArrayBuffer, s: Span, data: Uint8Array): void {
  if (data.byteLength > s.bytes) throw new RangeError(`internal: ${data.byteLength} bytes into a span of ${s.bytes}`);
  new Uint8Array(memory, s.ptr, data.byteLength).set(data);
}
