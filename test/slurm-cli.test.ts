import { expect, it } from "vitest";
import { spawn } from "node:child_process";
import { cleanEnv, exited, fixture, repoRoot, runCli, tempDir } from "./helpers.ts";
import { describeSlurm, jobEnd, liveJobs } from "./slurm/slurm.ts";

// `strand slurm script.ts`: runner jobs by sbatch, the script against their head, every job
// cancelled at the end, and when the command is interrupted.

describeSlurm("strand slurm", (s) => {
  it("runs a driver script on runner jobs and cancels them when it ends", async () => {
    const logs = await tempDir("strand-slurm-cli-");
    const cli = runCli(["slurm", "--jobs", "2", "--threads", "1", "--log-dir", logs, "--job-name", "strand-test-cli", "--poll", "500", "--no-progress", fixture("slurm-driver.ts").pathname, "--", "x", "7"], cleanEnv(s.env));
    expect(await cli.exit).toBe(0);
    const out = cli.stdout();
    expect(out).toContain("squares 0,1,4,9,16,25,36,49,64,81,100,121");
    const jobs = /^jobs (.+)$/m.exec(out)![1]!.split(",");
    expect(jobs).toHaveLength(2);
    expect(/^tags (.+)$/m.exec(out)![1]).toBe(jobs.map((j) => `slurm.job=${j}`).join(","));
    expect(out).toContain(`args ["x","7"]`);
    // sbatch runs concurrently, so the jobs are listed in the order Slurm answered.
    const cancelled = /runner jobs (.+) cancelled/.exec(cli.stderr())?.[1]?.split(", ");
    expect(cancelled?.sort(), cli.stderr()).toEqual([...jobs].sort());
    expect(await liveJobs(s, "strand-test-cli")).toEqual([]);
  }, 120_000);

  it("cancels the jobs when interrupted, after the script stopped", async () => {
    const cli = runCli(["slurm", "--jobs", "1", "--job-name", "strand-test-cli-int", "--log-dir", await tempDir("strand-slurm-cli-"), "--no-progress", fixture("slurm-driver.ts").pathname],
      cleanEnv({ ...s.env, SLURM_TEST_RUNNERS: "1", SLURM_TEST_HANG: "1" }));
    await cli.line(/^working$/);
    expect(await liveJobs(s, "strand-test-cli-int")).toHaveLength(1);
    cli.child.kill("SIGTERM");
    expect(await cli.exit, cli.stderr()).toBe(143);
    expect(cli.lines).toContain("stopping"); // the script was told first
    expect(await liveJobs(s, "strand-test-cli-int")).toEqual([]);
  }, 120_000);

  it("says why when sbatch refuses the jobs, and leaves nothing behind", async () => {
    const cli = runCli(["slurm", "--jobs", "1", "--partition", "no-such-partition", "--job-name", "strand-test-cli-bad", fixture("slurm-driver.ts").pathname], cleanEnv(s.env));
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/sbatch: .*(invalid partition|Invalid partition)/i);
    expect(cli.stdout()).not.toContain("squares");
    expect(await liveJobs(s, "strand-test-cli-bad")).toEqual([]);
  }, 60_000);

  it("a program that exits without close() leaves no job behind", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", fixture("slurm-exit.ts").pathname], {
      cwd: repoRoot, env: cleanEnv({ ...s.env, SLURM_TEST_NAME: "strand-test-exit", SLURM_TEST_LOGS: await tempDir("strand-slurm-exit-") }), stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    expect(await exited(child)).toBe(0);
    const job = /^joined slurm\.job=(\d+)$/m.exec(out)?.[1];
    expect(job, out).toBeDefined();
    // Cancelled as the program exited (without that, it would run until walltime).
    expect((await jobEnd(s, job!, 30_000)).state).toBe("CANCELLED");
  }, 120_000);
});
