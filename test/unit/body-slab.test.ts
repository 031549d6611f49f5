import { describe, expect, it } from "vitest";
import { BodySlab } from "../../src/protocol/body-slab.ts";
import { decodeValue, encodeValue } from "../../src/protocol/codec.ts";

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
});
