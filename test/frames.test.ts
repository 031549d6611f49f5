import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder, FrameError } from "../src/transport/frames.ts";

const KiB = 1024;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed * 13 + (i >> 8)) & 0xff;
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** The bytes of a whole stream of frames, as a sender would write them. */
function streamOf(frames: readonly Uint8Array[][]): Uint8Array {
  return concat(frames.flatMap((f) => encodeFrame(f)));
}

/** Decodes a stream fed as the given chunks; returns the frames as copies. */
function decode(chunks: Iterable<Uint8Array>, maxFrame?: number): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  const d = new FrameDecoder((segs) => out.push(segs.map((s) => s.slice())), maxFrame);
  for (const c of chunks) d.push(c);
  return out;
}

/** Splits `data` at the given (sorted, in-range) positions. */
function splitAt(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, data.byteLength]) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  return out;
}

function expectFrames(actual: Uint8Array[][], expected: readonly Uint8Array[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((segs, i) => {
    const want = expected[i]!;
    expect(segs.map((s) => s.byteLength)).toEqual(want.map((s) => s.byteLength));
    segs.forEach((s, j) => expect(Buffer.from(s).equals(Buffer.from(want[j]!))).toBe(true));
  });
}

// Small frames: one to several segments, empty segments, lengths that are not multiples of 8,
// and a frame with no segments at all.
const smallFrames: Uint8Array[][] = [
  [bytes(5, 1)],
  [bytes(0, 0), bytes(3, 2), new Uint8Array(0)],
  [],
  [bytes(8, 3), bytes(9, 4), bytes(1, 5), bytes(16, 6)],
  [new Uint8Array(0)],
  [bytes(100, 7), bytes(13, 8)],
];

// Big frames (> 64 KiB) mixed with small ones.
const mixedFrames: Uint8Array[][] = [
  [bytes(3, 1)],
  [bytes(11, 2), bytes(70 * KiB, 3), bytes(5, 4)],
  [bytes(1, 5)],
  [bytes(200 * KiB + 3, 6)],
  [bytes(7, 7), new Uint8Array(0), bytes(65 * KiB, 8), bytes(33, 9), bytes(80 * KiB + 1, 10)],
  [],
  [bytes(64 * KiB, 11)],
];

describe("FrameDecoder / encodeFrame", () => {
  it("a stream of small frames split at every byte boundary decodes to the same frames", () => {
    const stream = streamOf(smallFrames);
    expectFrames(decode([stream]), smallFrames);
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      expectFrames(decode(splitAt(stream, [cut])), smallFrames);
    }
    // ...and fed one byte at a time.
    expectFrames(decode(splitAt(stream, Array.from({ length: stream.byteLength - 1 }, (_, i) => i + 1))), smallFrames);
  });

  it("any split of the small-frame stream into many chunks decodes the same", () => {
    const stream = streamOf(smallFrames);
    const cuts = fc.uniqueArray(fc.integer({ min: 0, max: stream.byteLength }), { maxLength: 40 }).map((c) => c.sort((a, b) => a - b));
    fc.assert(fc.property(cuts, (c) => {
      expectFrames(decode(splitAt(stream, c)), smallFrames);
    }), { numRuns: 500 });
  });

  it("a mix of small and big frames decodes the same coalesced into one chunk or split anywhere", () => {
    const stream = streamOf(mixedFrames);
    expectFrames(decode([stream]), mixedFrames);
    // Every frame and segment border, plus the bytes around them.
    const borders: number[] = [];
    let offset = 0;
    for (const f of mixedFrames) {
      for (const part of encodeFrame(f)) {
        for (let d = -9; d <= 9; d++) borders.push(offset + d);
        offset += part.byteLength;
      }
    }
    for (const cut of new Set(borders.filter((b) => b >= 0 && b <= stream.byteLength))) {
      expectFrames(decode(splitAt(stream, [cut])), mixedFrames);
    }
    const cuts = fc.uniqueArray(fc.integer({ min: 0, max: stream.byteLength }), { maxLength: 60 }).map((c) => c.sort((a, b) => a - b));
    fc.assert(fc.property(cuts, (c) => {
      expectFrames(decode(splitAt(stream, c)), mixedFrames);
    }), { numRuns: 60 });
    // Socket-sized reads: 64 KiB, and small odd sizes.
    for (const size of [64 * KiB, 1000, 4093]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < stream.byteLength; i += size) chunks.push(stream.subarray(i, i + size));
      expectFrames(decode(chunks), mixedFrames);
    }
  });

  it("random frames survive random chunking", () => {
    const frame = fc.array(fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.nat(100 * KiB).map((n) => bytes(n, n)) }), { maxLength: 5 });
    fc.assert(fc.property(fc.array(frame, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, rawCuts) => {
      const stream = streamOf(frames);
      const cuts = [...new Set(rawCuts.map((c) => c % (stream.byteLength + 1)))].sort((a, b) => a - b);
      expectFrames(decode(splitAt(stream, cuts)), frames);
    }), { numRuns: 80 });
  });

  it("reads landing where readTarget says (straight into a big frame's buffer) decode the same as chunks", () => {
    const frame = fc.array(fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.nat(200 * KiB).map((n) => bytes(n, n)) }), { maxLength: 5 });
    fc.assert(fc.property(fc.array(frame, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 100 * KiB }), { minLength: 1, maxLength: 20 }), (frames, sizes) => {
      const stream = streamOf(frames);
      const out: Uint8Array[][] = [];
      const held: Uint8Array[][] = [];
      const d = new FrameDecoder((segs) => {
        out.push(segs.map((x) => x.slice()));
        held.push(segs); // as received: must not change with later reads
      });
      // A socket read: at most the target's length, and at most the next size in turn.
      for (let at = 0, k = 0; at < stream.byteLength; k++) {
        const into = d.readTarget();
        const n = Math.min(into.byteLength, sizes[k % sizes.length]!, stream.byteLength - at);
        into.set(stream.subarray(at, at + n));
        d.pushRead(into, n);
        at += n;
      }
      expectFrames(out, frames);
      expectFrames(held, frames);
    }), { numRuns: 80 });
  });

  it("small reads (one frame each, as a lone call's) share a slab: each frame keeps its bytes, its segments 8-aligned, its memory its own", () => {
    const held: Uint8Array[][] = [];
    const d = new FrameDecoder((segs) => held.push(segs));
    const frames: Uint8Array[][] = [];
    // Enough reads to fill several slabs; sizes that are not multiples of 8.
    for (let i = 0; i < 3000; i++) {
      const f = [bytes(1 + (i % 61), i), new Uint8Array(new Float64Array([i, i / 3, -i]).buffer), bytes(i % 5, i + 1)];
      frames.push(f);
      const wire = concat(encodeFrame(f));
      const into = d.readTarget();
      into.set(wire);
      d.pushRead(into, wire.byteLength);
      into.fill(0xee, 0, wire.byteLength); // the socket's next read overwrites the scratch buffer
    }
    expectFrames(held, frames);
    for (const segs of held) for (const s of segs) expect(s.byteOffset % 8).toBe(0);
    const doubles = held.map((segs) => new Float64Array(segs[1]!.buffer, segs[1]!.byteOffset, 3));
    doubles.forEach((v, i) => expect([...v]).toEqual([i, i / 3, -i]));
    for (const segs of held) segs[0]!.fill(0); // a receiver writing into its frame changes no other
    held.forEach((segs, i) => expect(segs[2]).toEqual(frames[i]![2]));
  });

  it("every segment of a frame starts at a multiple of 8 from the frame start", () => {
    for (const f of [...smallFrames, ...mixedFrames]) {
      const parts = encodeFrame(f);
      const frame = concat(parts);
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      expect(view.getUint32(0)).toBe(frame.byteLength - 4);
      expect(view.getUint32(4)).toBe(f.length);
      // Find each segment by walking the parts: segments are written as they are.
      let offset = 0;
      let seg = 0;
      for (const part of parts) {
        if (seg < f.length && part === f[seg]) {
          expect(offset % 8).toBe(0);
          expect(Buffer.from(frame.subarray(offset, offset + part.byteLength)).equals(Buffer.from(part))).toBe(true);
          seg++;
        }
        offset += part.byteLength;
      }
      expect(seg).toBe(f.length);
    }
  });

  it("a big frame arriving in pieces is assembled in a buffer of its own, so its segments are 8-aligned", () => {
    const f64 = new Float64Array(10_000).map((_, i) => i / 3);
    const frame = [bytes(13, 1), new Uint8Array(f64.buffer), bytes(3, 2), new Uint8Array(new Float64Array([1.25, -2]).buffer)];
    const stream = streamOf([[bytes(5, 9)], frame]);
    const got: Uint8Array[][] = [];
    const d = new FrameDecoder((segs) => got.push(segs));
    // Odd-sized reads, so nothing is aligned by accident.
    for (let i = 0; i < stream.byteLength; i += 4099) d.push(stream.slice(i, i + 4099));
    expect(got).toHaveLength(2);
    const segs = got[1]!;
    const total = concat(encodeFrame(frame)).byteLength;
    for (const s of segs) {
      expect(s.byteOffset % 8).toBe(0);
      expect(s.buffer.byteLength).toBe(total);
    }
    const view = new Float64Array(segs[1]!.buffer, segs[1]!.byteOffset, segs[1]!.byteLength / 8);
    expect(view).toStrictEqual(f64);
    expect([...new Float64Array(segs[3]!.buffer, segs[3]!.byteOffset, 2)]).toEqual([1.25, -2]);
  });
});

describe("FrameDecoder rejects malformed input with FrameError", () => {
  const u32 = (...values: number[]): Uint8Array => {
    const out = new Uint8Array(values.length * 4);
    const v = new DataView(out.buffer);
    values.forEach((x, i) => v.setUint32(i * 4, x));
    return out;
  };
  const push = (chunks: Uint8Array[], maxFrame?: number): (() => void) => () => {
    decode(chunks, maxFrame);
  };

  it("a length prefix over maxFrame, as soon as the 4 prefix bytes are in", () => {
    expect(push([u32(0xffffffff)])).toThrow(FrameError);
    expect(push([u32(1025)], 1024)).toThrow(FrameError);
    expect(push([u32(1025).subarray(0, 2), u32(1025).subarray(2)], 1024)).toThrow(FrameError);
    // A prefix equal to maxFrame is fine (and waits for the rest).
    expect(push([u32(1024)], 1024)).not.toThrow();
    // ...and after good frames.
    const good = streamOf(smallFrames);
    expect(push([good, u32(0xffffffff)])).toThrow(FrameError);
  });

  it("a length prefix too short to hold a segment count", () => {
    expect(push([u32(0)])).toThrow(FrameError);
    expect(push([u32(3), new Uint8Array(3)])).toThrow(FrameError);
  });

  it("a segment count the frame cannot hold", () => {
    expect(push([u32(4, 0xffffffff)])).toThrow(FrameError);
    expect(push([u32(8, 2, 0)])).toThrow(FrameError); // two lengths announced, room for one
    expect(push([u32(4, 1 << 20)])).toThrow(FrameError);
  });

  it("a segment that overruns its frame, or bytes left over after the last one", () => {
    // rest = 4 (count) + 4 (length) + 4 (pad) + 8 (data): claims 9 bytes of data.
    expect(push([u32(20, 1, 9, 0), new Uint8Array(8)])).toThrow(FrameError);
    expect(push([u32(20, 1, 4, 0), new Uint8Array(8)])).toThrow(FrameError);
    // The same frame, correctly sized, is fine.
    expect(decode([u32(20, 1, 8, 0), bytes(8, 1)])[0]![0]).toEqual(bytes(8, 1));
  });

  it("a big frame whose segment table is wrong is rejected once it is complete", () => {
    const total = 70 * KiB;
    const frame = new Uint8Array(total);
    new DataView(frame.buffer).setUint32(0, total - 4);
    new DataView(frame.buffer).setUint32(4, 1);
    new DataView(frame.buffer).setUint32(8, total); // longer than the frame
    const d = new FrameDecoder(() => {});
    d.push(frame.subarray(0, 1000));
    expect(() => d.push(frame.subarray(1000))).toThrow(FrameError);
  });
});
