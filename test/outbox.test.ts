import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder } from "../src/transport/frames.ts";
import { BIG_SEGMENT, Outbox } from "../src/transport/outbox.ts";

const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

// The outbox encodes frames in place; it must produce exactly encodeFrame's bytes.
describe("Outbox", () => {
  const segment = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: BIG_SEGMENT, max: BIG_SEGMENT + 100 }).map((n) => new Uint8Array(n).fill(n % 251)) },
  );
  const frames = fc.array(fc.array(segment, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 40 });

  it("writes the same bytes as encodeFrame, big segments by reference", () => {
    fc.assert(
      fc.property(frames, (fs) => {
        const box = new Outbox();
        for (const f of fs) box.push(f);
        const parts = box.take();
        expect(box.empty).toBe(true);
        // Buffer.equals: vitest's deep equality is far too slow for 64 KiB arrays.
        expect(Buffer.from(concat(parts)).equals(concat(fs.flatMap((f) => encodeFrame(f))))).toBe(true);
        const bigs = fs.flat().filter((s) => s.byteLength >= BIG_SEGMENT);
        for (const b of bigs) expect(parts.includes(b)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("never rewrites bytes already taken", () => {
    const box = new Outbox();
    box.push([new Uint8Array([1, 2, 3])]);
    const first = box.take();
    const copy = concat(first);
    for (let i = 0; i < 5000; i++) box.push([new Uint8Array(40).fill(9)]);
    box.take();
    expect(concat(first)).toEqual(copy);
  });

  it("round-trips through the decoder", () => {
    const box = new Outbox();
    const sent = [[new Uint8Array([7])], [new Uint8Array(0), new Float64Array([1.5, 2]).slice().buffer].map((x) => new Uint8Array(x as ArrayBuffer))];
    for (const f of sent) box.push(f);
    const got: Uint8Array[][] = [];
    const d = new FrameDecoder((segs) => got.push(segs.map((s) => Uint8Array.from(s))));
    d.push(concat(box.take()));
    expect(got).toEqual(sent);
  });
});
