import { describe, expect, it } from "vitest";
import { GoroutineLimitError } from "../../src/errors.ts";
import { admitGoroutine, goroutineEnded, heapRefusal } from "../../src/runner/goroutines/limit.ts";
import { LANE_COUNTER, LANE_COUNTERS } from "../../src/runner/thread-messages.ts";

describe("goroutine admission (the runner's shared count)", () => {
  it("admits any number without --max-goroutines; counts each in and out", () => {
    const counters = new Int32Array(LANE_COUNTERS);
    for (let i = 0; i < 10_000; i++) expect(admitGoroutine(counters, undefined)).toBeUndefined();
    expect(counters[LANE_COUNTER.goroutines]).toBe(10_000);
    goroutineEnded(counters, 9_999);
    goroutineEnded(counters);
    expect(counters[LANE_COUNTER.goroutines]).toBe(0);
  });

  it("refuses past the maximum with GoroutineLimitError, leaving the count as it was; room comes back as they end", () => {
    const counters = new Int32Array(LANE_COUNTERS);
    for (let i = 0; i < 2; i++) expect(admitGoroutine(counters, 2)).toBeUndefined();
    const refused = admitGoroutine(counters, 2);
    expect(refused).toBeInstanceOf(GoroutineLimitError);
    expect(refused!.reason).toBe("2 goroutines live (--max-goroutines 2)");
    expect(counters[LANE_COUNTER.goroutines]).toBe(2);
    goroutineEnded(counters);
    expect(admitGoroutine(counters, 2)).toBeUndefined();
  });

  it("a heap well below its limit refuses nothing", () => {
    expect(heapRefusal()).toBeUndefined();
  });
});
