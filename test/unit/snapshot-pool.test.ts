import { describe, expect, it } from "vitest";
import { POOL_MIN, SnapshotPool } from "../../src/runner/snapshot-pool.ts";

// The pool of result copies: memory is reused only after `release`, never while a copy is out.
describe("snapshot pool", () => {
  for (const [name, make] of [["ArrayBuffer", (n: number) => new ArrayBuffer(n)], ["SharedArrayBuffer", (n: number) => new SharedArrayBuffer(n)]] as const) {
    it(`copies, and reuses a copy's memory only once it is released (${name})`, () => {
      const pool = new SnapshotPool<ArrayBuffer | SharedArrayBuffer>(make);
      const a = new Uint8Array(POOL_MIN + 5).fill(1);
      const b = new Uint8Array(POOL_MIN + 9).fill(2);
      const ca = pool.snapshot(a);
      expect(ca.buffer).not.toBe(a.buffer);
      expect(pool.pooled(ca)).toBe(true);
      expect(ca.every((x) => x === 1)).toBe(true);
      const cb = pool.snapshot(b); // ca is still out: new memory
      expect(cb.buffer).not.toBe(ca.buffer);
      expect(ca.every((x) => x === 1)).toBe(true);
      pool.release(ca.buffer);
      const cc = pool.snapshot(b);
      expect(cc.buffer).toBe(ca.buffer);
      expect(pool.stats.reused).toBe(1);
      expect(cc.byteLength).toBe(b.byteLength);
      expect(cc.every((x) => x === 2)).toBe(true);
      expect(cb.every((x) => x === 2)).toBe(true);
    });
  }

  it("small values are plain copies, never pooled", () => {
    const pool = new SnapshotPool((n) => new ArrayBuffer(n));
    const s = new Uint8Array(100).fill(3);
    const c = pool.snapshot(s);
    expect(c.buffer).not.toBe(s.buffer);
    expect(pool.pooled(c)).toBe(false);
    pool.release(c.buffer as ArrayBuffer);
    expect(pool.snapshot(s).buffer).not.toBe(c.buffer);
    expect(pool.stats.released).toBe(0);
  });
});
