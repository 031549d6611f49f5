import { describe, expect, it } from "vitest";
import { AdaptPolicy, adaptSettings, jobsFor } from "../../src/driver/scale/adapt.ts";
import { loadOf } from "../../src/driver/scale/scaler.ts";

const load = (queued: number, inFlight = 0, threads = 0): { queued: number; inFlight: number; threads: number } => ({ queued, inFlight, threads });

describe("adapt policy", () => {
  it("asks for a job per threadsPerJob calls waiting or running, between min and max", () => {
    expect(jobsFor(load(0), 4, 0, 10)).toBe(0);
    expect(jobsFor(load(1), 4, 0, 10)).toBe(1);
    expect(jobsFor(load(5, 3), 4, 0, 10)).toBe(2);
    expect(jobsFor(load(0), 4, 2, 10)).toBe(2);
    expect(jobsFor(load(1000), 1, 0, 10)).toBe(10);
  });

  it("scales up at once and down only after waitCount rounds of less work", () => {
    const p = new AdaptPolicy(adaptSettings({ min: 1, max: 8, waitCount: 3 }));
    expect(p.next(load(10), 2, 1)).toBe(5); // up at once
    expect(p.next(load(0, 2), 2, 5)).toBe(5); // less work: wait
    expect(p.next(load(0, 2), 2, 5)).toBe(5);
    expect(p.next(load(0, 2), 2, 5)).toBe(1); // third round in a row: down
  });

  it("starts counting again when the work comes back between rounds", () => {
    const p = new AdaptPolicy(adaptSettings({ max: 8, waitCount: 2 }));
    expect(p.next(load(0), 1, 3)).toBe(3);
    expect(p.next(load(3), 1, 3)).toBe(3); // as much work as jobs: the count resets
    expect(p.next(load(0), 1, 3)).toBe(3);
    expect(p.next(load(0), 1, 3)).toBe(0); // scales to zero with min 0
  });

  it("comes down to a new max at once", () => {
    const p = new AdaptPolicy(adaptSettings({ max: 2, waitCount: 5 }));
    expect(p.next(load(50), 1, 6)).toBe(2);
  });

  it("refuses settings that make no sense", () => {
    expect(() => adaptSettings({ min: 3, max: 2 })).toThrow(/max must be a whole number >= 3/);
    expect(() => adaptSettings({} as { max: number })).toThrow(/max is required/);
    expect(() => adaptSettings({ max: 2, min: -1 })).toThrow(/min/);
    expect(() => adaptSettings({ max: 2, waitCount: 0 })).toThrow(/waitCount/);
    expect(adaptSettings({ max: 4 })).toEqual({ min: 0, max: 4, intervalMs: 1000, waitCount: 3 });
  });

  it("reads the load from live runners only", () => {
    expect(loadOf({ stats: { queued: 3 }, runners: [{ alive: true, inFlight: 2, threads: 4 }, { alive: false, inFlight: 9, threads: 4 }] }))
      .toEqual({ queued: 3, inFlight: 2, threads: 4 });
  });
});
