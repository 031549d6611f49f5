// The copies a thread takes of the big results it sends. A result's bytes must be those it
// had when its function returned, but its function may keep the array and change it in its
// next call while the socket is still sending (a reused output buffer): so a result is
// copied before it is sent (unless handed off, src/handoff.ts). The copy never leaves the
// runner: once the socket has handed it to the kernel nobody reads it, and its memory can
// take the next result's copy. Fresh memory costs page faults on first touch (measured on
// a runner VM: 3-4 ms per fresh MB; here 100 MB slice()s cost ~40 ms against ~15 ms into
// reused memory); reused memory does not.
//
// Safety: a buffer is given back only by `release`, which the sender calls from the
// socket's write callback (Connection.flushed), after the kernel has the bytes; the copy is
// never handed to user code, so nothing else can hold it.

/** Results at least this big are copied into pooled memory; smaller ones slice(). */
export const POOL_MIN = 1 << 20;
/** Pooled bytes a thread keeps idle, at most. */
const KEEP_BYTES = 256 << 20;
/** Idle buffers are let go after this long without a take (memory goes back to the OS). */
const IDLE_MS = 5_000;

/** Free buffers by size class (a power of two): untouched tails of a class cost no memory. */
const free = new Map<number, ArrayBuffer[]>();
let kept = 0;
let idle: NodeJS.Timeout | undefined;
/** Counts, for tests and the decisions log. */
export const poolStats = { taken: 0, reused: 0, released: 0 };

const classOf = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/** A copy of `bytes` that no user code can reach: pooled when big, until `release`. */
export function snapshot(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength < POOL_MIN) return bytes.slice();
  poolStats.taken++;
  const size = classOf(bytes.byteLength);
  const list = free.get(size);
  const buf = list?.pop();
  if (buf !== undefined) {
    kept -= size;
    poolStats.reused++;
  }
  const out = new Uint8Array(buf ?? new ArrayBuffer(size), 0, bytes.byteLength);
  out.set(bytes);
  armIdle();
  return out;
}

/** Gives a snapshot's memory back, once nothing reads it (the socket wrote it). */
export function release(copy: Uint8Array): void {
  if (copy.byteLength < POOL_MIN) return;
  const buf = copy.buffer as ArrayBuffer;
  const size = buf.byteLength;
  if (size !== classOf(size) || kept + size > KEEP_BYTES) return;
  poolStats.released++;
  let list = free.get(size);
  if (list === undefined) free.set(size, (list = []));
  list.push(buf);
  kept += size;
}

function armIdle(): void {
  if (idle !== undefined) {
    idle.refresh();
    return;
  }
  idle = setTimeout(() => {
    idle = undefined;
    free.clear();
    kept = 0;
  }, IDLE_MS);
  idle.unref();
}
