// A byte stream between two threads of one process, in a SharedArrayBuffer allocated once
// per pair of ranks: one single-producer single-consumer ring per direction. Counters are
// free-running uint32s (the capacity, a power of two, divides 2^32), published with Atomics
// after the bytes they cover are copied, so a reader that loads the write counter sees the
// bytes (the JS memory model's happens-before through sequentially consistent atomics).
// Every publication notifies: a thread blocked (Atomics.wait) or armed (Atomics.waitAsync)
// on the counter wakes; a notify nobody waits on is a lookup, not a system call.

/** Atomics.waitAsync (Node 16+, V8 8.7), which TypeScript's ES2022 library does not declare. */
type WaitAsyncResult = { async: false; value: "not-equal" | "timed-out" } | { async: true; value: Promise<"ok" | "timed-out"> };
export const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, index: number, value: number) => WaitAsyncResult }).waitAsync;

/**
 * Bytes copied between publications of a counter. A copy published only at its end would
 * leave the other side idle meanwhile: the writer filled the whole ring, then the reader
 * emptied it, then the writer filled it again, never both at once. In pieces the reader
 * copies out the first while the writer copies in the next, and a piece stays in cache
 * between the two copies.
 */
const PIECE = 256 * 1024;

/** Header: each direction's write and read counters, 64 bytes apart (no false sharing). */
const HEADER_BYTES = 256;
const W = (dir: number): number => dir * 32;
const R = (dir: number): number => dir * 32 + 16;

/** The memory of a pair's two rings, `capacity` bytes each. */
export function pairBuffer(capacity: number): SharedArrayBuffer {
  if (capacity <= 0 || (capacity & (capacity - 1)) !== 0 || capacity > 1 << 30) throw new RangeError(`ring capacity must be a power of two up to 2^30, got ${capacity}`);
  return new SharedArrayBuffer(HEADER_BYTES + 2 * capacity);
}

export const ringCapacity = (pair: SharedArrayBuffer): number => (pair.byteLength - HEADER_BYTES) / 2;

/** One direction of a pair: `dir` 0 carries the lower rank's bytes to the higher one, 1 the reverse. */
export class Ring {
  readonly counters: Int32Array;
  readonly wIndex: number;
  readonly rIndex: number;
  private readonly data: Uint8Array;
  private readonly cap: number;
  /** The read counter as the last write() saw it: a writer that found no room waits for it to change. */
  seenConsumed = 0;

  constructor(pair: SharedArrayBuffer, dir: 0 | 1) {
    this.cap = ringCapacity(pair);
    this.counters = new Int32Array(pair, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(pair, HEADER_BYTES + dir * this.cap, this.cap);
    this.wIndex = W(dir);
    this.rIndex = R(dir);
  }

  /** The write counter as last published (what a reader waits on). */
  get written(): number {
    return Atomics.load(this.counters, this.wIndex);
  }

  /** The read counter as last published (what a writer waits on for space). */
  get consumed(): number {
    return Atomics.load(this.counters, this.rIndex);
  }

  /** Bytes a reader can take now. */
  used(): number {
    return (Atomics.load(this.counters, this.wIndex) - Atomics.load(this.counters, this.rIndex)) >>> 0;
  }

  /** The little-endian u32 at the read position (a record's length), without consuming it; undefined if fewer than 4 bytes are there. */
  peekU32(): number | undefined {
    const r = Atomics.load(this.counters, this.rIndex) >>> 0;
    if ((((Atomics.load(this.counters, this.wIndex) >>> 0) - r) >>> 0) < 4) return undefined;
    const d = this.data;
    const m = this.cap - 1;
    return (d[r & m]! | (d[(r + 1) & m]! << 8) | (d[(r + 2) & m]! << 16) | (d[(r + 3) & m]! << 24)) >>> 0;
  }

  /**
   * Writer: copies as much of `src` as fits, in pieces (see PIECE), looking for space freed
   * meanwhile after each; returns how many bytes it took.
   */
  write(src: Uint8Array): number {
    let w = Atomics.load(this.counters, this.wIndex) >>> 0;
    let done = 0;
    while (done < src.byteLength) {
      this.seenConsumed = Atomics.load(this.counters, this.rIndex);
      const free = this.cap - ((w - (this.seenConsumed >>> 0)) >>> 0);
      if (free === 0) break;
      const at = w & (this.cap - 1);
      const k = Math.min(src.byteLength - done, PIECE, free, this.cap - at);
      this.data.set(k === src.byteLength ? src : src.subarray(done, done + k), at);
      done += k;
      w = (w + k) >>> 0;
      Atomics.store(this.counters, this.wIndex, w | 0);
      Atomics.notify(this.counters, this.wIndex);
    }
    return done;
  }

  /**
   * Writer: copies every part in, one after the other, and publishes them once, if all
   * `total` bytes fit now; else takes nothing and returns false. A small message crosses
   * with one publication and no gathering copy.
   */
  writeAll(parts: readonly Uint8Array[], total: number): boolean {
    const w = Atomics.load(this.counters, this.wIndex) >>> 0;
    this.seenConsumed = Atomics.load(this.counters, this.rIndex);
    if (this.cap - ((w - (this.seenConsumed >>> 0)) >>> 0) < total) return false;
    let at = w & (this.cap - 1);
    for (const part of parts) {
      const first = Math.min(part.byteLength, this.cap - at);
      this.data.set(first === part.byteLength ? part : part.subarray(0, first), at);
      if (first < part.byteLength) this.data.set(part.subarray(first), 0);
      at = (at + part.byteLength) & (this.cap - 1);
    }
    Atomics.store(this.counters, this.wIndex, (w + total) | 0);
    Atomics.notify(this.counters, this.wIndex);
    return true;
  }

  /**
   * Writer: as writeAll, for a record whose header is the first `headLen` bytes of `head` (a
   * buffer the caller reuses: no header array, no list of parts made per message).
   */
  writeRecord(head: Uint8Array, headLen: number, segments: readonly Uint8Array[], total: number): boolean {
    const w = Atomics.load(this.counters, this.wIndex) >>> 0;
    this.seenConsumed = Atomics.load(this.counters, this.rIndex);
    if (this.cap - ((w - (this.seenConsumed >>> 0)) >>> 0) < total) return false;
    const m = this.cap - 1;
    const d = this.data;
    let at = w & m;
    for (let i = 0; i < headLen; i++) d[(at + i) & m] = head[i]!;
    at = (at + headLen) & m;
    for (const part of segments) {
      const n = part.byteLength;
      if (n <= 32 && at + n <= this.cap) {
        // A byte loop beats set()'s call into the runtime for a few bytes (an 8 B message).
        for (let i = 0; i < n; i++) d[at + i] = part[i]!;
      } else {
        const first = Math.min(n, this.cap - at);
        d.set(first === n ? part : part.subarray(0, first), at);
        if (first < n) d.set(part.subarray(first), 0);
      }
      at = (at + n) & m;
    }
    Atomics.store(this.counters, this.wIndex, (w + total) | 0);
    Atomics.notify(this.counters, this.wIndex);
    return true;
  }

  /**
   * Reader: copies up to `dst.byteLength` bytes into `dst`, in pieces, taking bytes written
   * meanwhile too (consuming them unless `peek`); returns how many.
   */
  read(dst: Uint8Array, peek = false): number {
    let r = Atomics.load(this.counters, this.rIndex) >>> 0;
    let done = 0;
    while (done < dst.byteLength) {
      const avail = ((Atomics.load(this.counters, this.wIndex) >>> 0) - r) >>> 0;
      if (avail === 0) break;
      const at = r & (this.cap - 1);
      const k = Math.min(dst.byteLength - done, PIECE, avail, this.cap - at);
      dst.set(this.data.subarray(at, at + k), done);
      done += k;
      r = (r + k) >>> 0;
      if (!peek) {
        Atomics.store(this.counters, this.rIndex, r | 0);
        Atomics.notify(this.counters, this.rIndex);
      }
    }
    return done;
  }
}
