import { describe, expect, it } from "vitest";
import { formatBar, formatDuration, formatRate, progressLine } from "../../src/driver/observe/progress-line.ts";
import type { ProgressSnapshot } from "../../src/driver/observe/progress.ts";

// The pure renderer: what every progress line says, without a terminal.

function snap(over: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return {
    submitted: 200, done: 147, failed: 3, running: 8, rate: 412.4,
    byFunction: { square: { submitted: 150, done: 118, failed: 2 }, cube: { submitted: 50, done: 29, failed: 1 } },
    runnersBusy: 2, runners: 3, elapsedMs: 3210, final: false, ...over,
  };
}

const ANSI = /\x1b/; // eslint-disable-line no-control-regex

describe("progress line", () => {
  it("formats rates, durations and bars", () => {
    expect([0, -1, NaN, 0.44, 9.96, 12.3, 412.4, 9999, 12_345, 123_456, 12_345_678].map(formatRate))
      .toEqual(["0", "0", "0", "0.4", "10.0", "12", "412", "9999", "12.3k", "123k", "12.3M"]);
    expect([0, 840, 42_000, 65_000, 3_599_000, 7_380_000].map(formatDuration)).toEqual(["0.0s", "0.8s", "42.0s", "1m05s", "59m59s", "2h03m"]);
    expect(formatBar(0, 10, 10)).toBe("░".repeat(10));
    expect(formatBar(5, 10, 10)).toBe("█".repeat(5) + "░".repeat(5));
    expect(formatBar(199, 200, 20)).toBe("█".repeat(19) + "░"); // full only at the total
    expect(formatBar(200, 200, 20)).toBe("█".repeat(20));
    expect(formatBar(3, 0, 4)).toBe("░".repeat(4)); // nothing to do yet
  });

  it("bar: label, bar, settled of made, failures, rate, runners busy, time, per function", () => {
    expect(progressLine(snap(), { style: "bar", label: "strand", width: 200 })).toBe(
      `strand ${"█".repeat(15)}${"░".repeat(5)} 150/200 calls · 3 failed · 412/s · 2/3 runners busy · 3.2s · square 120/150 (2 failed), cube 30/50 (1 failed)`,
    );
    const clean = snap({ failed: 0, done: 200, running: 0, byFunction: { square: { submitted: 200, done: 200, failed: 0 } } });
    expect(progressLine(clean, { style: "bar", label: "strand", width: 200, barWidth: 4 })).toBe("strand ████ 200/200 calls · 412/s · 2/3 runners busy · 3.2s · square 200/200");
  });

  it("bar: fits the width, one column spare, dropping per-function counts before the bar, the bar before the counts", () => {
    for (const width of [120, 80, 60, 40, 20]) {
      const line = progressLine(snap(), { style: "bar", label: "strand", width });
      expect(line.length).toBeLessThanOrEqual(width - 1);
    }
    expect(progressLine(snap(), { style: "bar", label: "strand", width: 100 })).toMatch(/^strand █+░+ 150\/200 calls · 3 failed · .* · square 12…$/);
    expect(progressLine(snap(), { style: "bar", label: "strand", width: 70 })).toMatch(/^strand 150\/200 calls · 3 failed · 412\/s · 2\/3 runners busy · 3\.2s$/);
  });

  it("a total, a unit and no runner fields for a helper over items; ranks for mpirun", () => {
    const s = snap({ submitted: 10, done: 4, failed: 0, byFunction: {} });
    expect(progressLine(s, { style: "bar", unit: "", total: 10, calls: false, barWidth: 10, width: 100 })).toBe("████░░░░░░ 4/10 · 412/s · 3.2s");
    const ranks = snap({ submitted: 4, done: 3, failed: 0, rate: 2, byFunction: { main: { submitted: 4, done: 3, failed: 0 } } });
    expect(progressLine(ranks, { style: "lines", label: "mpirun", unit: "ranks", total: 4 })).toBe("mpirun: 3/4 ranks (3 ok, 0 failed, 8 running), 2.0 ranks/s, 2/3 runners busy, 3.2s; main 3/4");
  });

  it("lines: plain text for logs, ok and failed and running, a final line that says so", () => {
    expect(progressLine(snap(), { style: "lines", label: "strand" })).toBe(
      "strand: 150/200 calls (147 ok, 3 failed, 8 running), 412 calls/s, 2/3 runners busy, 3.2s; square 120/150 (2 failed), cube 30/50 (1 failed)",
    );
    const end = snap({ done: 197, running: 0, runnersBusy: 0, final: true });
    const line = progressLine(end, { style: "lines", label: "strand" });
    expect(line).toBe("strand: finished 200/200 calls (197 ok, 3 failed), 412 calls/s, 3.2s; square 120/150 (2 failed), cube 30/50 (1 failed)");
    expect(line).not.toMatch(ANSI);
    expect(progressLine(snap(), { style: "bar", label: "strand", width: 200 })).not.toMatch(ANSI);
  });
});
