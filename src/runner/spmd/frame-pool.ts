// Receive buffers for a rank's big incoming frames, kept and handed out again. A collective
// consumes what it receives (adds it into its result, or copies it there) and gives the
// buffer back (release), so an allreduce repeated in a loop reads every message into memory
// it has read into before: no fresh allocation, no first-touch page faults, and no external
// memory piling up for the garbage collector to find. A message the user receives (recv) is
// never released: its buffer is the user's, and the garbage collector frees it as before.
//
// Measured (allreduce of 2^20 doubles, 2 ranks on 2 runners, rank thread --cpu-prof, load ~10):
// per operation ~6 ms of garbage collection, ~2 ms allocating and filling frame buffers and
// ~2.5 ms allocating the result, of ~13 ms of the rank thread's CPU; see docs/decisions.md.
//
// Safety: a buffer is lent at most once at a time (a WeakSet of the lent ones); releasing
// one that is not lent, or a view of memory that is not the pool's, does nothing. Only code
// that knows no one else holds a view of the message (the ring algorithms, after the last
// use) may release it.

import { unzeroed } from "../../transport/unzeroed.ts";

/** Free bytes kept at most: about a 64 MiB broadcast's chunks, or eight 2^20-double allreduces' halves. */
const KEEP_BYTES = 64 * 1024 * 1024;

/** Capacities are rounded up to an eighth of their power of two, so frames of nearly one size share buffers. */
export function capacityFor(bytes: number): number {
  if (bytes <= 8) return 8;
  const step = 2 ** Math.floor(Math.log2(bytes)) / 8;
  return Math.ceil(bytes / step) * step;
}

export class FramePool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly lent = new WeakSet<ArrayBuffer>();
  private freeBytes = 0;

  /**
   * `bytes` of memory to read a frame into, not zeroed: the reader overwrites all of it.
   * transport/unzeroed.ts: an ArrayBuffer of its own, without the zero fill (~0.5 ms per 8 MiB).
   */
  take(bytes: number): Uint8Array {
    const cap = capacityFor(bytes);
    const list = this.free.get(cap);
    let buf = list?.pop();
    if (buf !== undefined) this.freeBytes -= cap;
    else buf = unzeroed(cap).buffer as ArrayBuffer;
    this.lent.add(buf);
    return new Uint8Array(buf, 0, bytes);
  }

  /** Gives back the buffer under `view`, if the pool lent it: it may be overwritten from now on. */
  release(view: unknown): void {
    if (!ArrayBuffer.isView(view)) return;
    const buf = view.buffer;
    if (!(buf instanceof ArrayBuffer) || !this.lent.has(buf)) return;
    this.lent.delete(buf);
    const cap = buf.byteLength;
    if (this.freeBytes + cap > KEEP_BYTES) return;
    let list = this.free.get(cap);
    if (list === undefined) this.free.set(cap, (list = []));
    list.push(buf);
    this.freeBytes += cap;
  }

  /** Free bytes held now (for tests). */
  get kept(): number {
    return this.freeBytes;
  }
}
