import { describe, expect, it } from "vitest";
import { pairBuffer, Ring } from "../../src/runner/spmd/shm-ring.ts";

// The ring between two threads of one process (runner/spmd/shm-ring.ts), driven from one
// thread: what the writer puts in comes out in order and intact, whatever the piece, wrap
// and partial-write boundaries.

const pattern = (n: number, k: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + k) & 0xff);

describe("shm ring", () => {
  it("streams any length through a small ring, across wraps, in partial writes and reads", () => {
    const cap = 1 << 12;
    const pair = pairBuffer(cap);
    const w = new Ring(pair, 0);
    const r = new Ring(pair, 0);
    for (const n of [0, 1, 7, cap - 1, cap, cap + 1, 3 * cap + 5, 10_000]) {
      const src = pattern(n, n);
      const dst = new Uint8Array(n);
      let put = 0;
      let got = 0;
      while (got < n) {
        put += w.write(src.subarray(put));
        expect(w.used()).toBeLessThanOrEqual(cap);
        got += r.read(dst.subarray(got, Math.min(n, got + 1000)));
      }
      expect(put).toBe(n);
      expect(dst).toEqual(src);
      expect(r.used()).toBe(0);
    }
  });

  it("a write of more than a piece (256 KiB) into an empty ring takes what fits, published as it goes", () => {
    const cap = 1 << 20;
    const pair = pairBuffer(cap);
    const w = new Ring(pair, 1);
    const r = new Ring(pair, 1);
    const src = pattern(cap + 12_345, 3);
    expect(w.write(src)).toBe(cap);
    expect(w.written).toBe(cap);
    const dst = new Uint8Array(src.byteLength);
    expect(r.read(dst)).toBe(cap);
    expect(w.write(src.subarray(cap))).toBe(12_345);
    expect(r.read(dst.subarray(cap))).toBe(12_345);
    expect(dst).toEqual(src);
  });

  it("writeAll puts every part in at once or nothing, and peekU32 reads a length across the wrap", () => {
    const cap = 64;
    const pair = pairBuffer(cap);
    const w = new Ring(pair, 0);
    const r = new Ring(pair, 0);
    // Move the counters to 2 bytes before the end, so the next record wraps.
    expect(w.write(new Uint8Array(cap - 2))).toBe(cap - 2);
    expect(r.read(new Uint8Array(cap - 2))).toBe(cap - 2);
    expect(r.peekU32()).toBeUndefined();
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, 0x01020304 + 0xf0000000, true);
    const body = pattern(20, 9);
    expect(w.writeAll([len, body], 24)).toBe(true);
    expect(r.peekU32()).toBe(0xf1020304);
    // No room for 48 more (24 used of 64): nothing taken.
    expect(w.writeAll([pattern(48, 1)], 48)).toBe(false);
    expect(w.used()).toBe(24);
    const out = new Uint8Array(24);
    expect(r.read(out, true)).toBe(24);
    expect(r.used()).toBe(24);
    expect(r.read(out)).toBe(24);
    expect(out.subarray(4)).toEqual(body);
    expect(r.used()).toBe(0);
  });
});
