// Length-prefixed framing. A frame carries a list of byte segments:
//
//   u32 rest-length | u32 segment-count | u32 length * count | pad | seg0 | pad | seg1 | pad ...
//
// Every segment starts at a multiple of 8 from the frame start, and large frames are
// assembled into a buffer of their own, so a Float64Array segment can be viewed in
// place instead of copied. All integers are big-endian.
import { unzeroed, untouchedShared } from "./unzeroed.ts";

export const DEFAULT_MAX_FRAME = 512 * 1024 * 1024;
/** Frames at least this big are assembled into a dedicated (aligned) buffer. */
const OWN_BUFFER_MIN = 64 * 1024;
const MAX_SEGMENTS = 1 << 16;
/** Reads between big frames land here: the size Node reads in by default. */
const SCRATCH = 64 * 1024;
/**
 * Reads of at most this many bytes are copied into a shared slab of READ_SLAB bytes
 * (FrameDecoder.slabCopy). Small, as Node's own pool for small Buffers (8 KiB): a view kept
 * for long (a small value a program holds on to) keeps its whole slab.
 */
const READ_SLAB_COPY_MAX = 1024;
const READ_SLAB = 16 * 1024;

const pad8 = (n: number): number => (n + 7) & ~7;

/** The big-endian u32 at `at` of `b`: no DataView per frame (two were made for every frame read). */
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export class FrameError extends Error {}

/** Bytes before the first segment: prefix, count, lengths, padding. */
export const frameHeadLength = (segmentCount: number): number => pad8(8 + 4 * segmentCount);

/** Encodes one frame as a list of buffers for writev: the segments themselves are not copied. */
export function encodeFrame(segments: readonly Uint8Array[]): Uint8Array[] {
  const n = segments.length;
  let offset = frameHeadLength(n);
  const head = new Uint8Array(offset);
  const view = new DataView(head.buffer);
  view.setUint32(4, n);
  const out: Uint8Array[] = [head];
  for (let i = 0; i < n; i++) {
    const seg = segments[i]!;
    view.setUint32(8 + 4 * i, seg.byteLength);
    if (i > 0) {
      const gap = pad8(offset) - offset;
      if (gap > 0) out.push(new Uint8Array(gap));
      offset += gap;
    }
    out.push(seg);
    offset += seg.byteLength;
  }
  view.setUint32(0, offset - 4);
  return out;
}

/** The bytes of these segments together (no framing). */
export function segmentBytes(segments: readonly Uint8Array[]): number {
  let n = 0;
  for (const s of segments) n += s.byteLength;
  return n;
}

/** Bytes a frame of these segments occupies on the wire, length prefix included. */
export function frameSize(segments: readonly Uint8Array[]): number {
  let size = frameHeadLength(segments.length);
  for (let i = 0; i < segments.length; i++) size = (i > 0 ? pad8(size) : size) + segments[i]!.byteLength;
  return size;
}


/**
 * Incremental decoder: feed it socket chunks of any size, split or coalesced anywhere,
 * and it calls `onFrame` once per complete frame. Throws FrameError on a frame that
 * is malformed or larger than `maxFrame`; the caller must then drop the connection.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private need = -1; // bytes of the current frame after the length prefix; -1 = unknown
  private big: Uint8Array | undefined; // dedicated buffer being filled for a big frame
  private bigFilled = 0;
  /** Where reads land between big frames (see readTarget); made on first use. */
  private scratch: Uint8Array | undefined;
  /**
   * Memory for a big frame of `bytes` (all of it is overwritten), instead of a fresh zeroed
   * buffer: a reader that gives frames back reuses them (runner/spmd/frame-pool.ts).
   */
  bigBuffer: ((bytes: number) => Uint8Array) | undefined;

  constructor(
    private readonly onFrame: (segments: Uint8Array[], owned: boolean) => void,
    /** Checked as each length prefix arrives: may be changed between frames. */
    public maxFrame = DEFAULT_MAX_FRAME,
    /**
     * Assemble big frames in SharedArrayBuffers: a runner keeps objects in them and hands
     * them to its worker threads without a copy (a transfer would take them away).
     */
    public shared = false,
  ) {}

  push(chunk: Uint8Array): void {
    while (chunk.byteLength > 0) {
      if (this.big !== undefined) {
        const take = Math.min(chunk.byteLength, this.big.byteLength - this.bigFilled);
        this.big.set(chunk.subarray(0, take), this.bigFilled);
        this.bigFilled += take;
        chunk = chunk.subarray(take);
        if (this.bigFilled === this.big.byteLength) {
          const frame = this.big;
          this.big = undefined;
          this.need = -1;
          this.emit(frame, true);
        }
        continue;
      }
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
      chunk = new Uint8Array(0);
      for (;;) {
        if (this.need < 0) {
          if (this.buffered < 4) break;
          const len = this.peekLength();
          if (len < 4 || len > this.maxFrame) {
            throw new FrameError(`frame length ${len} outside 4..${this.maxFrame}`);
          }
          this.need = len;
        }
        const total = this.need + 4;
        if (total >= OWN_BUFFER_MIN && this.buffered < total) {
          // Start a dedicated buffer and stream the rest of this frame straight into it.
          this.big = this.bigFrame(total);
          this.bigFilled = 0;
          const rest = this.take(this.buffered);
          this.big.set(rest, 0);
          this.bigFilled = rest.byteLength;
          break;
        }
        if (this.buffered < total) break;
        this.emit(this.take(total), false);
      }
    }
  }

  /**
   * Where the next socket read should land (transport/read-into.ts): the rest of the big
   * frame being assembled, so that the kernel copies its bytes straight to their place, or
   * else a scratch buffer reused from read to read.
   */
  readTarget(): Uint8Array {
    if (this.big !== undefined) return this.big.subarray(this.bigFilled);
    return (this.scratch ??= new Uint8Array(SCRATCH));
  }

  /** Is `view` the scratch buffer (what readTarget gives between big frames)? */
  isScratch(view: Uint8Array | undefined): boolean {
    return view !== undefined && view === this.scratch;
  }

  /** `n` bytes were read into `into`, which readTarget() gave. */
  pushRead(into: Uint8Array, n: number): void {
    if (n <= 0) return;
    if (this.big !== undefined && into.buffer === this.big.buffer) {
      this.bigFilled += n;
      if (this.bigFilled === this.big.byteLength) {
        const frame = this.big;
        this.big = undefined;
        this.emit(frame, true);
      }
      return;
    }
    if (this.big === undefined && this.buffered === 0 && n >= 4) {
      // A read that starts a big frame (what follows a frame boundary, as each message of a
      // ping-pong does): its bytes go straight into the frame's buffer, one copy, where the
      // general path below copies them out of the scratch buffer and then into the frame's
      // (measured, 1 MiB rank messages: the first read brings 32-64 KiB of each message).
      const len = u32(into, 0);
      if (len >= 4 && len <= this.maxFrame && len + 4 >= OWN_BUFFER_MIN && len + 4 > n) {
        this.need = len;
        this.big = this.bigFrame(len + 4);
        this.big.set(into.subarray(0, n), 0);
        this.bigFilled = n;
        return;
      }
    }
    // Frames keep views of their chunk, and the next read overwrites the scratch buffer:
    // the chunk gets memory of its own (as Node gives every read when it allocates).
    this.push(n <= READ_SLAB_COPY_MAX ? this.slabCopy(into, n) : into.slice(0, n));
  }

  /** Where small reads are copied side by side (see slabCopy); a fresh one once full. */
  private slab: Uint8Array | undefined;
  private slabUsed = 0;

  /**
   * The first `n` bytes of `into` copied into the read slab: a view of a buffer shared by the
   * next small reads, instead of an ArrayBuffer of their own. Why: a lone call is one small
   * read on each side, and an ArrayBuffer per read is a malloc, a free and a backing store
   * for the garbage collector to track (`slice`, malloc and free were ~1% of each side's
   * CPU samples for sequential no-op calls, perf); a view is one small object. A slab is freed
   * once no frame's view of it is left. Starts stay 8-aligned, as a chunk of its own starts:
   * a frame that starts the read keeps its segments' alignment.
   */
  private slabCopy(into: Uint8Array, n: number): Uint8Array {
    let slab = this.slab;
    let at = this.slabUsed;
    if (slab === undefined || slab.byteLength - at < n) {
      slab = this.slab = new Uint8Array(READ_SLAB);
      at = 0;
    }
    slab.set(n === into.byteLength ? into : into.subarray(0, n), at);
    this.slabUsed = (at + n + 7) & ~7;
    return slab.subarray(at, at + n);
  }

  /** Memory for a big frame of `total` bytes, every byte of which the reads will write. */
  private bigFrame(total: number): Uint8Array {
    return this.bigBuffer?.(total) ?? (this.shared ? untouchedShared(total) : unzeroed(total));
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.byteLength >= 4) return u32(first, 0);
    const four = this.take(4);
    this.chunks.unshift(four);
    this.buffered += 4;
    return u32(four, 0);
  }

  /** Removes n bytes from the front of the buffered chunks (copying only across chunk borders). */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.byteLength === n) {
      this.chunks.shift();
      return first;
    }
    if (first.byteLength > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.byteLength, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (k === c.byteLength) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  /** `owned`: the frame has a buffer of its own, which the receiver may transfer. */
  private emit(frame: Uint8Array, owned: boolean): void {
    this.need = -1;
    const n = u32(frame, 4);
    if (n > MAX_SEGMENTS || 8 + 4 * n > frame.byteLength) throw new FrameError(`bad segment count ${n}`);
    let offset = pad8(8 + 4 * n);
    const segments: Uint8Array[] = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const len = u32(frame, 8 + 4 * i);
      if (i > 0) offset = pad8(offset);
      if (offset + len > frame.byteLength) throw new FrameError("segment overruns frame");
      segments[i] = frame.subarray(offset, offset + len);
      offset += len;
    }
    if (offset !== frame.byteLength) throw new FrameError("trailing bytes in frame");
    this.onFrame(segments, owned);
  }
}
