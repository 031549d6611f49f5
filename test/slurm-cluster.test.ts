import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { slurm, type Cluster, type Remote } from "../src/index.ts";
import { fixture, tempDir } from "./helpers.ts";
import { describeSlurm, jobStates, liveJobs, runnerJobs, slurmCommand, until, whenRunners } from "./slurm/slurm.ts";

// slurm() on a real (one-node) Slurm: runner jobs submitted with sbatch join the head the
// driver started; scale() submits and cancels jobs; a job cancelled or ended mid-work loses
// no call and is replaced. One cluster for the file (each test leaves it with two jobs):
// starting runners is what costs time here.

type Work = typeof import("./fixtures/slurm-work.ts");

describeSlurm("slurm(): runners as Slurm jobs", (s) => {
  let cluster: Cluster;
  let work: Remote<Work>;
  let logs: string;
  const token = "slurm-test-token-0123456789abcdef";

  beforeAll(async () => {
    logs = await tempDir("strand-slurm-logs-");
    cluster = await slurm({ jobs: 2, threads: 2, token, logDirectory: logs, jobName: "strand-test-cluster", pollMs: 500, drainSeconds: 20 });
    work = await cluster.import<Work>(fixture("slurm-work.ts"));
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  }, 120_000);

  /** Two runners joined, each a job Slurm says runs. */
  async function twoRunningJobs(): Promise<string[]> {
    const jobs = await whenRunners(cluster, "two runner jobs", (j) => j.length === 2);
    const states = await jobStates(s, jobs);
    expect([...states.values()]).toEqual(["RUNNING", "RUNNING"]);
    return jobs;
  }

  it("runs calls on runners that are Slurm jobs", async () => {
    const jobs = await twoRunningJobs();
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => work.slowSquare(i, 50)));
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 16 }, (_, i) => i * i));
    // Every call ran inside one of the jobs (SLURM_JOB_ID in the runner's environment), and both took work.
    expect(new Set(results.map((r) => r.job))).toEqual(new Set(jobs));
    // The jobs are what slurm() submitted, under its name, one CPU per thread.
    expect((await liveJobs(s, "strand-test-cluster")).sort()).toEqual([...jobs].sort());
    const shown = await slurmCommand(s, "squeue", ["--noheader", "--format=%C", `--jobs=${jobs.join(",")}`]);
    expect(shown.trim().split("\n").map((l) => l.trim())).toEqual(["2", "2"]);
  }, 120_000);

  it("scales up and down: jobs submitted, then the idlest cancelled, no call lost", async () => {
    const before = await twoRunningJobs();
    await cluster.scale(4);
    const four = await whenRunners(cluster, "four runner jobs", (j) => j.length === 4);
    expect(four).toEqual(expect.arrayContaining(before));
    // Work under way on every runner while two jobs are cancelled: the idlest, drained.
    const running = Promise.all(Array.from({ length: 24 }, (_, i) => work.slowSquare(i, 200)));
    await cluster.scale(2);
    const results = await running;
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 24 }, (_, i) => i * i));
    const left = await until("two jobs left in Slurm's queue", async () => {
      const live = await liveJobs(s, "strand-test-cluster");
      return live.length === 2 ? live : undefined;
    });
    await whenRunners(cluster, "two runners left", (j) => j.length === 2 && j.every((id) => left.includes(id)));
    expect(cluster.stats.failed).toBe(0);
  }, 180_000);

  it("a runner job cancelled with scancel mid-job: its calls run elsewhere, and the job is replaced", async () => {
    const [victim, other] = await twoRunningJobs();
    const calls = Array.from({ length: 40 }, (_, i) => work.slowSquare(i, 150));
    // Once the victim has computed something, it is cancelled under the rest of the work.
    await Promise.race(calls.map((c) => c.then((r) => (r.job === victim ? undefined : new Promise(() => {})))));
    await slurmCommand(s, "scancel", [victim!]);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 40 }, (_, i) => i * i));
    expect(results.some((r) => r.job === victim)).toBe(true);
    expect(results.some((r) => r.job === other)).toBe(true);
    expect(cluster.stats.failed).toBe(0);
    // Still two wanted: a new job replaces the cancelled one, and its runner joins.
    const now = await whenRunners(cluster, "a replacement runner", (j) => j.length === 2 && !j.includes(victim!));
    expect(now).toContain(other);
    expect((await jobStates(s, [victim!])).get(victim!) ?? "GONE").toMatch(/CANCELLED|GONE/);
  }, 180_000);

  it("a job that ends as at walltime (SIGTERM to the batch shell, as --signal=B:TERM sends) is replaced", async () => {
    const [ending, other] = await twoRunningJobs();
    // What Slurm does drainSeconds before walltime: SIGTERM to the batch shell (the runner).
    await slurmCommand(s, "scancel", ["--batch", "--signal=TERM", ending!]);
    const ended = await until(`job ${ending} to end`, async () => {
      const state = (await jobStates(s, [ending!])).get(ending!) ?? "GONE";
      return /RUNNING|PENDING|COMPLETING/.test(state) ? undefined : state;
    });
    expect(ended).toMatch(/COMPLETED|GONE/); // drained and exited 0: not killed
    const now = await whenRunners(cluster, "a runner replacing the ended job", (j) => j.length === 2 && !j.includes(ending!));
    expect(now).toContain(other);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => work.slowSquare(i, 10)));
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 8 }, (_, i) => i * i));
    expect(runnerJobs(cluster)).toHaveLength(2);
  }, 180_000);

  it("gives Slurm a script that starts the runner tagged with its job, and no token", async () => {
    const [job] = await twoRunningJobs();
    const shown = await slurmCommand(s, "scontrol", ["show", "job", job!]);
    expect(shown).toMatch(/NumCPUs=2\b/);
    const script = await slurmCommand(s, "scontrol", ["write", "batch_script", job!, "-"]);
    expect(script).toContain("runner --join");
    expect(script).toContain('--tag slurm.job="$SLURM_JOB_ID"');
    // The token reaches the runner in its environment: not in the script, not on a command line.
    expect(script).not.toContain(token);
    expect(shown).not.toContain(token);
    for (const r of cluster.runners.filter((x) => x.alive)) {
      expect(readFileSync(`/proc/${r.pid}/cmdline`, "utf8")).not.toContain(token);
      expect(readFileSync(`/proc/${r.pid}/environ`, "utf8").split("\0")).toContain(`STRAND_TOKEN=${token}`);
    }
  }, 60_000);

  it("adapt(): more jobs while calls wait, back to min once the work is done", async () => {
    await twoRunningJobs();
    cluster.adapt({ min: 2, max: 4, intervalMs: 200, waitCount: 3 });
    // Work that keeps coming until the cluster has grown: 4 jobs of 2 threads for 8+ calls at a time.
    let grown = false;
    const four = whenRunners(cluster, "adapt() to reach max", (j) => j.length === 4).finally(() => (grown = true));
    let done = 0;
    while (!grown) {
      const batch = await Promise.all(Array.from({ length: 16 }, (_, i) => work.slowSquare(i, 100)));
      expect(batch.map((r) => r.value)).toEqual(Array.from({ length: 16 }, (_, i) => i * i));
      done += batch.length;
    }
    expect((await four).length).toBe(4);
    expect(done).toBeGreaterThan(0);
    // Idle: after waitCount rounds, down to min (the idlest jobs cancelled, their runners drained).
    await until("adapt() back to two jobs", async () => ((await liveJobs(s, "strand-test-cluster")).length === 2 ? true : undefined));
    await whenRunners(cluster, "two runners", (j) => j.length === 2);
    cluster.scale(2).catch(() => {}); // stops adapting
    expect(cluster.stats.failed).toBe(0);
  }, 180_000);
});
