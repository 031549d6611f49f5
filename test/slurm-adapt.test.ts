import { afterAll, expect, it } from "vitest";
import { slurm, type Cluster } from "../src/index.ts";
import { fixture, tempDir } from "./helpers.ts";
import { describeSlurm, liveJobs, until, whenRunners } from "./slurm/slurm.ts";

// Scale from zero on a real Slurm: no job until calls come; adapt() submits jobs for the calls
// waiting, they run as the runners join, and with no work left the jobs are cancelled again.

describeSlurm("slurm(): adapt() from zero", (s) => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  }, 120_000);

  it("submits jobs for waiting calls, and cancels them once idle", async () => {
    cluster = await slurm({ jobs: 0, threads: 2, jobName: "strand-test-adapt", logDirectory: await tempDir("strand-slurm-adapt-"), pollMs: 500 });
    const c = cluster;
    expect(await liveJobs(s, "strand-test-adapt")).toEqual([]);
    const work = await c.import<typeof import("./fixtures/slurm-work.ts")>(fixture("slurm-work.ts"));
    c.adapt({ min: 0, max: 2, intervalMs: 200, waitCount: 3 });
    // No runner yet: the calls wait, adapt() sees them queued and asks for 2 jobs (6 calls, 2 threads each, at most 2).
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => work.slowSquare(i, 300)));
    expect(results.map((r) => r.value)).toEqual([0, 1, 4, 9, 16, 25]);
    const jobs = new Set(results.map((r) => r.job));
    expect(jobs.size).toBeGreaterThanOrEqual(1);
    for (const j of jobs) expect(j).toMatch(/^\d+$/);
    // Idle: down to zero jobs, runners gone.
    await until("no job left", async () => ((await liveJobs(s, "strand-test-adapt")).length === 0 ? true : undefined));
    await whenRunners(c, "no runner", (j) => j.length === 0);
    expect(c.stats.failed).toBe(0);
  }, 150_000);
});
