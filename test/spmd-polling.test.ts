import os from "node:os";
import { describe, expect, it } from "vitest";
import { SIZES, type PollReport } from "./fixtures/spmd-poll.ts";
import { useCluster } from "./use-cluster.ts";

// A bound rank (the default) waiting in a blocking receive for a rank on another runner
// busy-polls its socket instead of sleeping in epoll (src/runner/spmd/remote-links.ts
// RemoteLinks.poll); unbound ranks do not. Either way every message arrives whole and
// stays intact, including exchanges where a rank receives while its own send still waits
// for the kernel. No timing is asserted.

type Poll = typeof import("./fixtures/spmd-poll.ts");

const ROUNDS = 3;

function expectClean(reports: PollReport[]): void {
  expect(reports.map((r) => r.rank)).toEqual([0, 1]);
  expect(new Set(reports.map((r) => r.pid)).size).toBe(2); // one rank per runner: every message crosses TCP
  expect(reports.flatMap((r) => r.errors)).toEqual([]);
  for (const r of reports) expect(r.checks).toBe(ROUNDS * (SIZES.length + 1));
}

describe("ranks on 2 runners, bound (the default): receives poll the socket", () => {
  const t = useCluster<{ m: Poll }>({ runners: 2, threads: 1 }, { m: "spmd-poll.ts" });
  it("ping-pong of every size and big exchanges both ways arrive intact", async () => {
    const reports = await t.cluster.spmd(2, t.m.pollRounds, ROUNDS);
    expectClean(reports);
    // Bound where the machine has a CPU per rank (what turns polling on).
    if (os.cpus().length >= 2 && process.platform === "linux") {
      expect(reports.every((r) => /^\d+$/.test(r.cpus))).toBe(true);
    }
    // A second job on the same runners: the connections are new, the polling state too.
    expectClean(await t.cluster.spmd(2, t.m.pollRounds, ROUNDS));
  }, 180_000);
});

describe("ranks on 2 runners, bind none: receives wait in the event loop", () => {
  const t = useCluster<{ m: Poll }>({ runners: 2, threads: 1, bind: "none" }, { m: "spmd-poll.ts" });
  it("ping-pong of every size and big exchanges both ways arrive intact", async () => {
    const reports = await t.cluster.spmd(2, t.m.pollRounds, ROUNDS);
    expectClean(reports);
    expect(reports.every((r) => !/^\d+$/.test(r.cpus) || os.cpus().length < 2)).toBe(true);
  }, 180_000);
});
