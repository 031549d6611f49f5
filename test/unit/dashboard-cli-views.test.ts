import { describe, expect, it } from "vitest";
import { busyBar, formatBytes, statusLines, topPlainLines, topScreen, type RunnerLine } from "../../src/cli/runner-table.ts";
import type { RunnerStats } from "../../src/protocol/messages.ts";
import type { RunnerUsage } from "../../src/protocol/activity.ts";

// What `strand status` and `strand top` print, from runner reports given by hand.

const stats = (o: Partial<RunnerStats> = {}): RunnerStats => ({
  calls: 0, failures: 0, inFlight: 0, codeFetches: 0, codeBytesReceived: 0, codeLoads: 0, cachedModules: 0, sessions: 1, workerRestarts: 0,
  batches: 0, batchedCalls: 0, objects: 0, objectBytes: 0, objectBytesLimit: 1 << 30, objectFetches: 0, objectBytesFetched: 0, objectsServed: 0,
  channelOpsRelayed: 0, goroutines: 0, ...o,
});
const usage = (o: Partial<RunnerUsage> = {}): RunnerUsage => ({ cpu: 0.25, rss: 120 * 1024 * 1024, heapUsed: 9 * 1024 * 1024, threads: 4, running: 1, uptime: 5, ...o });

const a: RunnerLine = {
  address: "10.0.0.1:7700", report: { stats: stats({ calls: 1234, failures: 2, objects: 3, objectBytes: 5 * 1024 * 1024, actorCount: 12, actorMailbox: 7 }), usage: usage() }, callsPerSec: 41.5,
};
const b: RunnerLine = { address: "10.0.0.2:7700", report: { stats: stats({ calls: 10, actorCount: 0, actorMailbox: 0 }), usage: usage({ threads: 2, running: 2, cpu: 1.96 }) } };
const down: RunnerLine = { address: "10.0.0.3:7700", error: "cannot connect: ECONNREFUSED" };

describe("terminal views of the runners", () => {
  it("formats bytes", () => {
    expect([0, 1023, 1024, 1536, 200 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual(["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "200 MiB", "3.0 GiB"]);
  });

  it("status: one aligned row per runner, unreachable ones saying why, and a total", () => {
    expect(statusLines([a, b, down])).toEqual([
      "RUNNER         THREADS  RUNNING   CPU      RSS  OBJECTS    BYTES  CALLS  FAILURES  ACTORS",
      "10.0.0.1:7700        4        1  0.25  120 MiB        3  5.0 MiB   1234         2      12",
      "10.0.0.2:7700        2        2  1.96  120 MiB        0      0 B     10         0       0",
      "10.0.0.3:7700  unreachable: cannot connect: ECONNREFUSED",
      "",
      "2 of 3 runners up · 3 running on 6 threads · 3 objects (5.0 MiB) · 1244 calls, 2 failed · 12 actors, 7 calls in their mailboxes",
    ]);
  });

  it("status: no actor total without actors, and '-' for a runner that does not count them (older)", () => {
    const old: RunnerLine = { address: "10.0.0.5:7700", report: { stats: stats(), usage: usage() } };
    const lines = statusLines([b, old]);
    expect(lines[1]).toMatch(/\s0$/);
    expect(lines[2]).toMatch(/\s-$/);
    expect(lines.at(-1)).toBe("2 of 2 runners up · 3 running on 6 threads · 0 objects (0 B) · 10 calls, 0 failed");
  });

  it("top on a terminal: a title, busy threads as a bar, rates, cut to the width", () => {
    const now = new Date(2026, 0, 2, 13, 4, 5);
    const lines = topScreen([a, { ...b, firstReport: true }, { address: "10.0.0.4:7700", error: "not connected (reconnecting)" }], { now, width: 200, intervalMs: 1000 });
    expect(lines[0]).toBe("strand top · 13:04:05 · every 1 s · q to quit");
    expect(lines[2]).toMatch(/^RUNNER\s+BUSY\s+RUNNING\s+CPU\s+RSS\s+HEAP\s+OBJECTS\s+BYTES\s+CALLS\/S\s+CALLS\s+FAILED\s+ACTORS$/);
    expect(lines[3]).toMatch(/^10\.0\.0\.1:7700\s+\[#---\]\s+1\/4\s+0\.25\s+120 MiB\s+9\.0 MiB\s+3\s+5\.0 MiB\s+41\.5\s+1234\s+2\s+12$/);
    expect(lines[4]).toMatch(/^10\.0\.0\.2:7700\s+\[##\]\s+2\/2\s+-\s/); // first report: no CPU yet
    expect(lines[5]).toBe("10.0.0.4:7700  lost: not connected (reconnecting)");
    expect(topScreen([a], { now, width: 30, intervalMs: 1000 }).every((l) => l.length <= 30)).toBe(true);
  });

  it("top into a pipe: plain key=value lines, one per runner, no escape codes", () => {
    const lines = topPlainLines([a, down], new Date(Date.UTC(2026, 0, 2, 13, 4, 5)));
    expect(lines).toEqual([
      "2026-01-02T13:04:05.000Z 10.0.0.1:7700 state=up threads=4 running=1 cpu=0.25 rss=125829120 heap=9437184 objects=3 bytes=5242880 calls=1234 calls_per_s=41.5 failures=2 actors=12 actor_mailbox=7",
      '2026-01-02T13:04:05.000Z 10.0.0.3:7700 state=lost error="cannot connect: ECONNREFUSED"',
    ]);
  });

  it("draws busy threads", () => {
    expect(busyBar(0, 3)).toBe("[---]");
    expect(busyBar(5, 3)).toBe("[###]");
    expect(busyBar(20, 64, 8)).toBe("[########]+");
  });
});
