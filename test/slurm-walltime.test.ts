import { afterAll, expect, it } from "vitest";
import { slurm, type Cluster } from "../src/index.ts";
import { fixture, tempDir } from "./helpers.ts";
import { describeSlurm, jobEnd, whenRunners } from "./slurm/slurm.ts";

// Walltime for real: a job of one minute whose runner Slurm warns 58 s before the end (so at
// slurmctld's first time-limit check, within about 30 s). The runner drains and exits before
// the limit, the job ends COMPLETED (not TIMEOUT), and a new job takes its place. Its own
// file: the wait is idle, and runs beside the other files.

describeSlurm("slurm(): walltime", (s) => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  }, 120_000);

  it("a runner warned before walltime drains, its job ends, and a replacement joins", async () => {
    cluster = await slurm({ jobs: 1, walltime: "1", drainSeconds: 58, jobName: "strand-test-walltime", logDirectory: await tempDir("strand-slurm-wt-"), pollMs: 500 });
    const c = cluster;
    const work = await c.import<typeof import("./fixtures/slurm-work.ts")>(fixture("slurm-work.ts"));
    const [first] = await whenRunners(c, "the first runner", (j) => j.length === 1);
    expect((await work.slowSquare(3, 1))).toEqual({ value: 9, job: first });
    const [next] = await whenRunners(c, "a replacement", (j) => j.length === 1 && j[0] !== first, 120_000);
    // Drained and exited 0 before the limit: not killed at it (TIMEOUT).
    expect(await jobEnd(s, first!)).toEqual({ state: "COMPLETED", exitCode: 0 });
    expect((await work.slowSquare(4, 1))).toEqual({ value: 16, job: next });
    expect(c.stats.failed).toBe(0);
  }, 150_000);
});
