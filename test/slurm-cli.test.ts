import { expect, it } from "vitest";
import { cleanEnv, fixture, runCli, tempDir } from "./helpers.ts";
import { describeSlurm, liveJobs } from "./slurm/slurm.ts";

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
    expect(cli.stderr()).toMatch(new RegExp(`runner jobs ${jobs.join(", ")} cancelled`));
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
});
