import { describe, expect, it } from "vitest";
import { POOL_MIN, poolStats, release, snapshot } from "../../src/runner/snapshot-pool.ts";

// The pool of result copies: memory is reused only after `release`, never while a copy is out.
describe("snapshot pool", () => {
  it("copies, and reuses a copy's memory only once it is released", () => {
    const a = new Uint8Array(POOL_MIN + 5).fill(1);
    const b = new Uint8Array(POOL_MIN + 9).fill(2);
    const ca = snapshot(a);
    expect(ca.buffer).not.toBe(a.buffer);
    expect(ca.every((x) => x === 1)).toBe(true);
    const cb = snapshot(b); // ca is still out: new memory
    expect(cb.buffer).not.toBe(ca.buffer);
    expect(ca.every((x) => x === 1)).toBe(true);
    const reused = poolStats.reused;
    release(ca);
    const cc = snapshot(b);
    expect(cc.buffer).toBe(ca.buffer);
    expect(poolStats.reused).toBe(reused + 1);
    expect(cc.byteLength).toBe(b.byteLength);
    expect(cc.every((x) => x === 2)).toBe(true);
    expect(cb.every((x) => x === 2)).toBe(true);
  });

  it("small values are plain copies, never pooled", () => {
    const s = new Uint8Array(100).fill(3);
    const c = snapshot(s);
    expect(c.buffer).not.toBe(s.buffer);
    expect(c.buffer.byteLength).toBe(100);
    release(c);
    expect(snapshot(s).buffer).not.toBe(c.buffer);
  });
});
