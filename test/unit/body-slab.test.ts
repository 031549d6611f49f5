import { describe, expect, it } from "vitest";
import { BodySlab } from "../../src/protocol/body-slab.ts";
import { decodeBody, decodeInline, decodeSegments, decodeValue, encodeValue } from "../../src/protocol/codec.ts";

// Plain calls' small encoded arguments share big buffers until each call is sent: each copy
// must stay its own bytes whatever is copied after it, and decode as what was encoded.
describe("body slab", () => {
  it("keeps each copy intact while later copies fill the same buffer", () => {
    const slab = new BodySlab(1024, 4096);
    const copies: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const source = new Uint8Array(1 + (i % 40)).fill(i % 251);
      copies.push(slab.copy(source));
      source.fill(255); // the source (msgpackr's buffer) is overwritten: the copy is not
    }
    copies.forEach((c, i) => {
      expect(c.byteLength).toBe(1 + (i % 40));
      expect(c.every((b) => b === i % 251)).toBe(true);
    });
    // Many copies share one buffer; each starts 8-byte aligned in it.
    expect(new Set(copies.map((c) => c.buffer)).size).toBeLessThan(copies.length / 10);
    for (const c of copies) expect(c.byteOffset % 8).toBe(0);
  });

  it("gives an encoding larger than its limit a buffer of its own", () => {
    const slab = new BodySlab(16, 4096);
    const big = slab.copy(new Uint8Array(17).fill(3));
    expect(big.buffer.byteLength).toBe(17);
    expect(slab.copy(new Uint8Array(16)).buffer.byteLength).toBe(4096);
  });

  it("holds encodings that decode as the values given, for values of every kind", () => {
    const slab = new BodySlab();
    const values: unknown[] = [[], [1, "two", { three: 3 }], [new Float64Array([1.5, -0]), new Map([["k", 1n]])], [null, undefined, -0, NaN]];
    const encoded = values.map((v) => encodeValue(v, "args", slab));
    encoded.forEach((e, i) => expect(decodeValue(e.body, e.attachments)).toEqual(values[i]));
  });

  it("copies a range of a frame's bodies, each copy its own bytes once the frame is reused", () => {
    const slab = new BodySlab(256, 4096);
    const frame = new Uint8Array(64);
    const copies: Uint8Array[] = [];
    for (let i = 0; i < 500; i++) {
      frame.fill(i % 251);
      const n = 1 + (i % 30);
      copies.push(slab.copyRange(frame, 7, 7 + n));
      frame.fill(0);
    }
    copies.forEach((c, i) => {
      expect(c.byteLength).toBe(1 + (i % 30));
      expect(c.every((b) => b === i % 251)).toBe(true);
      expect(c.byteOffset % 8).toBe(0);
    });
    expect(slab.copyRange(new Uint8Array(300), 0, 257).buffer.byteLength).toBe(257);
  });

  // A graph's small kept results are views of shared slabs, read through one view of each
  // slab (codec's decodeBody): reads of views of different slabs, in any order, each give
  // their own value.
  it("decodes views of several slabs, interleaved, as the values they hold", () => {
    const values: unknown[] = [{ x: 1, us: 2.5 }, [1, "two", { three: 3 }], "s", 7, null, undefined, true, -1, [new Float64Array([1.5]), new Map([["k", 1n]])], { a: [1, 2] }, -0, 2 ** 40];
    const slabs = [new BodySlab(256, 64), new BodySlab(256, 128), new BodySlab(256, 4096)];
    const held = values.flatMap((v, i) => {
      const e = encodeValue(v, "value");
      if (e.attachments.length > 0) return [];
      return [{ v, body: slabs[i % 3]!.copy(e.body) }];
    });
    expect(held.length).toBeGreaterThan(8);
    for (let round = 0; round < 3; round++) {
      for (let k = held.length - 1; k >= 0; k--) {
        const h = held[(k * 5 + round) % held.length]!;
        expect(decodeBody(h.body)).toEqual(h.v);
        expect(decodeInline([h.body])).toEqual(h.v);
        expect(decodeSegments([h.body])).toEqual(h.v);
      }
    }
    // A body of its own buffer, and one in a buffer too big to be kept, read the same way.
    expect(decodeBody(encodeValue({ x: 3 }, "v").body)).toEqual({ x: 3 });
    const big = new Uint8Array(128 * 1024);
    const body = encodeValue([1, { y: "z" }], "v").body;
    big.set(body, 1000);
    expect(decodeBody(big.subarray(1000, 1000 + body.byteLength))).toEqual([1, { y: "z" }]);
  });
});
