import { describe, expect, it } from "vitest";
import { capacityFor, FramePool } from "../../src/runner/spmd/frame-pool.ts";

describe("FramePool", () => {
  it("rounds capacities up to an eighth of their power of two", () => {
    expect(capacityFor(1)).toBe(8);
    expect(capacityFor(4 * 1024 * 1024)).toBe(4 * 1024 * 1024);
    expect(capacityFor(4 * 1024 * 1024 + 100)).toBe(4.5 * 1024 * 1024);
    for (const n of [9, 1000, 65_537, 3_000_001]) {
      expect(capacityFor(n)).toBeGreaterThanOrEqual(n);
      expect(capacityFor(n)).toBeLessThanOrEqual(n * 1.25);
    }
  });

  it("lends memory of the asked length, and lends a given-back buffer again for a frame of nearly its size", () => {
    const pool = new FramePool();
    const a = pool.take(1_000_100);
    expect(a.byteLength).toBe(1_000_100);
    expect(a.byteOffset).toBe(0);
    pool.release(new Float64Array(a.buffer, 8, 10)); // any view of it gives it back
    expect(pool.kept).toBe(a.buffer.byteLength);
    const b = pool.take(1_000_050);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.kept).toBe(0);
  });

  it("never lends a buffer twice while it is out", () => {
    const pool = new FramePool();
    const a = pool.take(100_000);
    const b = pool.take(100_000);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(a);
    pool.release(a); // a second release of the same buffer does nothing
    const c = pool.take(100_000);
    const d = pool.take(100_000);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
  });

  it("ignores memory it did not lend, and values that are not views", () => {
    const pool = new FramePool();
    for (const v of [new Float64Array(1000), Buffer.alloc(10), new Uint8Array(new SharedArrayBuffer(64)), undefined, 3, [1, 2], "x"]) pool.release(v);
    expect(pool.kept).toBe(0);
  });

  it("keeps at most 64 MiB given back; beyond that the garbage collector takes them", () => {
    const pool = new FramePool();
    const out = Array.from({ length: 20 }, () => pool.take(5 * 1024 * 1024));
    for (const x of out) pool.release(x);
    expect(pool.kept).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(pool.kept).toBeGreaterThan(50 * 1024 * 1024);
  });
});
