import { describe, expect, it } from "vitest";
import { CallWindow } from "../../src/driver/calls/call-window.ts";

/** Feeds the window calls of one run time until its average has settled there. */
function settled(threads: number, execMicros: number): CallWindow {
  const w = new CallWindow(threads);
  for (let i = 0; i < 200; i++) w.observe(execMicros);
  return w;
}

// Enough calls queued on a runner that its threads never wait for a round trip (about
// 2 ms of work each), few enough that slow calls are not stuck behind each other.
describe("call window", () => {
  it("starts at 2 calls per thread", () => {
    expect(new CallWindow(1).size).toBe(2);
    expect(new CallWindow(6).size).toBe(12);
  });

  it("grows for short calls: about 2 ms of work per thread", () => {
    expect(settled(1, 100).size).toBe(20);
    expect(settled(4, 10).size).toBe(4 * 200);
  });

  it("is bounded per thread however short the calls", () => {
    expect(settled(1, 1).size).toBe(1024);
    expect(settled(3, 0).size).toBe(3 * 1024);
  });

  it("never goes below 2 per thread however long the calls", () => {
    expect(settled(1, 5_000_000).size).toBe(2);
    expect(settled(8, 50_000).size).toBe(16);
  });

  it("follows a change of run time, smoothing single outliers", () => {
    const w = settled(2, 100);
    const before = w.size;
    w.observe(4000); // one call 40 times as long
    expect(w.size).toBeLessThan(before);
    expect(w.size).toBeGreaterThan(settled(2, 4000).size);
    for (let i = 0; i < 200; i++) w.observe(4000);
    expect(w.size).toBe(settled(2, 4000).size);
    expect(w.execMicros).toBeCloseTo(4000, 0);
  });

  it("reports the recent mean run time", () => {
    expect(settled(1, 250).execMicros).toBeCloseTo(250, 0);
  });
});
