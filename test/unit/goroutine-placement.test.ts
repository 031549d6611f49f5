import { describe, expect, it } from "vitest";
import { LOCAL_MARGIN, placeGoroutine, type Loaded } from "../../src/driver/calls/goroutine-placement.ts";

const runner = (inFlight: number, threads = 2, usable = true): Loaded => ({ inFlight, threads, usable });

describe("placeGoroutine", () => {
  it("keeps the goroutine on the runner that asked while it is at most LOCAL_MARGIN calls per thread busier", () => {
    expect(LOCAL_MARGIN).toBe(1);
    const least = runner(2); // 1 per thread
    expect(placeGoroutine(runner(2), least)).not.toBe(least); // as loaded
    const home = runner(4); // 2 per thread: the margin exactly
    expect(placeGoroutine(home, least)).toBe(home);
  });

  it("goes to the least loaded runner once the asking one is busier than that", () => {
    const least = runner(2);
    expect(placeGoroutine(runner(5), least)).toBe(least); // 2.5 per thread against 1
    const small = runner(2, 1); // 2 per thread on one thread...
    const big = runner(0, 8);
    expect(placeGoroutine(small, big)).toBe(big); // ...is busier than 0 by more than one
  });

  it("stays on the asking runner, however loaded, when its asking thread is idle but for calls waiting on channels", () => {
    const home = runner(40); // 20 per thread, all blocked goroutines
    const least = runner(0);
    expect(placeGoroutine(home, least)).toBe(least);
    expect(placeGoroutine(home, least, true)).toBe(home);
    expect(placeGoroutine(runner(0, 2, false), least, true)).toBe(least); // not when it is stopping
  });

  it("counts calls per thread: a runner with more threads carries more before it is busy", () => {
    const home = runner(12, 8); // 1.5 per thread
    const least = runner(1, 2); // 0.5 per thread
    expect(placeGoroutine(home, least)).toBe(home);
  });

  it("elsewhere when the asking runner is gone or stopping; undefined when no runner is usable", () => {
    const least = runner(10);
    expect(placeGoroutine(undefined, least)).toBe(least);
    expect(placeGoroutine(runner(0, 2, false), least)).toBe(least);
    expect(placeGoroutine(undefined, undefined)).toBeUndefined();
    expect(placeGoroutine(runner(0, 2, false), undefined)).toBeUndefined();
  });

  it("the asking runner when it is the least loaded, or alone", () => {
    const home = runner(3);
    expect(placeGoroutine(home, home)).toBe(home);
    expect(placeGoroutine(home, undefined)).toBe(home);
  });
});
