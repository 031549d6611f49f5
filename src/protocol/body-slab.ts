/**
 * Small encodings copied side by side into large shared buffers, each a view of its own
 * bytes: one typed-array object per encoding instead of a typed array and an ArrayBuffer of
 * its own. For the driver's call arguments, which a burst holds all at once until each call
 * is sent (100,000 no-op calls: 88 bytes less each to copy through the young generation).
 * A buffer is freed once no view of it is left. Never for memory that may be transferred to
 * another thread: that would detach every view of the buffer.
 */
export class BodySlab {
  private buf = new Uint8Array(0);
  private used = 0;

  constructor(
    /** Encodings larger than this get a buffer of their own. */
    readonly maxCopy = 1024,
    private readonly size = 64 * 1024,
  ) {}

  /** A copy of `bytes` (a view that may be overwritten later, such as msgpackr's). */
  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.byteLength;
    if (n > this.maxCopy) return Uint8Array.prototype.slice.call(bytes);
    const at = this.room(n);
    this.buf.set(bytes, at);
    return this.buf.subarray(at, at + n);
  }

  /** A copy of bytes [start, end) of `source`, without a view of them made first. */
  copyRange(source: Uint8Array, start: number, end: number): Uint8Array {
    const n = end - start;
    if (n > this.maxCopy) return source.slice(start, end);
    const at = this.room(n);
    const buf = this.buf;
    // A short copy byte by byte: a view of the source made for `set` was half of this
    // copy's garbage (a graph task's result is ~25 bytes).
    if (n <= 64) for (let i = 0; i < n; i++) buf[at + i] = source[start + i]!;
    else buf.set(source.subarray(start, end), at);
    return buf.subarray(at, at + n);
  }

  /** Where `n` bytes go: a new buffer when this one has no room left. */
  private room(n: number): number {
    if (this.buf.byteLength - this.used < n) {
      this.buf = new Uint8Array(this.size);
      this.used = 0;
    }
    const at = this.used;
    // 8-byte aligned starts, as msgpackr's own: a decoder may view typed arrays in place.
    this.used = (at + n + 7) & ~7;
    return at;
  }
}
