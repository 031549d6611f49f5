import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import { devRunnerEntry } from "../src/driver/dev-runner.ts";
import { cliCommand } from "../src/driver/local.ts";
import { fixture, repoRoot, tempDir } from "./helpers.ts";
import { describeSlurm, jobEnd, sbatch, until, type TestSlurm } from "./slurm/slurm.ts";

// A whole job in one allocation, as users submit it: deploy/slurm/strand-job.sbatch (head on
// the first node, runners by srun, the driver script after them), and `strand mpirun` inside
// an allocation (salloc, sbatch), which starts its runners with srun.

const run = promisify(execFile);
const jobScript = path.join(repoRoot, "deploy/slurm/strand-job.sbatch");

/** Runs a Slurm command that waits for its job (salloc); its exit code and output. */
async function waitFor(s: TestSlurm, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { env: { ...s.env, ...env }, cwd: repoRoot, timeout: 150_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describeSlurm("a whole job in one allocation", (s) => {
  let strand: string;
  let dir: string;

  beforeAll(async () => {
    // The nodes run strand from this checkout (as `strand` on a shared file system would be).
    strand = `${process.execPath} ${await devRunnerEntry()}`;
    dir = await tempDir("strand-slurm-job-");
  });

  it("strand-job.sbatch: head, runners by srun, the driver script after them; everything stopped at the end", async () => {
    const out = path.join(dir, "job-%j.out");
    const job = await sbatch(s, ["--nodes=1", "--cpus-per-task=2", `--output=${out}`, jobScript, fixture("slurm-driver.ts").pathname, "one", "two"],
      { STRAND: strand, SLURM_TEST_RUNNERS: "1" });
    const end = await jobEnd(s, job);
    const text = await readFile(out.replace("%j", job), "utf8");
    expect(text).toContain("squares 0,1,4,9,16,25,36,49,64,81,100,121");
    expect(text).toContain(`jobs ${job}`); // the calls ran in the job's own runner
    expect(text).toContain(`tags slurm.job=${job}`);
    expect(text).toContain(`args ["one","two"]`);
    expect(text).toMatch(/strand-job: driver exited with 0/);
    // The runner drained when told (not killed), and left the head.
    expect(text).toMatch(/"why":"SIGTERM","msg":"stopping: finishing in-flight calls"/);
    expect(text).toMatch(/"msg":"runner left"/);
    expect(end, text).toEqual({ state: "COMPLETED", exitCode: 0 });
  }, 180_000);

  it("strand-job.sbatch: SIGTERM to the batch shell (walltime near) stops the driver, then the runners, then the head", async () => {
    const out = path.join(dir, "hang-%j.out");
    const job = await sbatch(s, ["--nodes=1", "--cpus-per-task=1", `--output=${out}`, jobScript, fixture("slurm-driver.ts").pathname],
      { STRAND: strand, SLURM_TEST_RUNNERS: "1", SLURM_TEST_HANG: "1" });
    const file = out.replace("%j", job);
    // The job's output is a file slurmd writes: read until the driver says it is working.
    await until("the driver to be working", async () => ((await readFile(file, "utf8").catch(() => "")).includes("\nworking\n") ? true : undefined), 120_000);
    await run("scancel", ["--batch", "--signal=TERM", job], { env: s.env });
    expect(await jobEnd(s, job)).toEqual({ state: "FAILED", exitCode: 143 }); // stopped by the signal, in order:
    const text = await readFile(file, "utf8");
    const order = ["stopping\n", '"why":"SIGTERM","msg":"stopping: finishing in-flight calls"', '"msg":"runner left"'].map((m) => text.indexOf(m));
    expect(order.every((i) => i >= 0), text).toBe(true);
    // The driver first. The runner's own line and the head's note of its Leave come from two
    // processes writing one file at about the same moment: either may land first.
    expect(order[0], text).toBeLessThan(order[1]!);
    expect(order[0], text).toBeLessThan(order[2]!);
  }, 180_000);

  it("strand mpirun in salloc: -n from the allocation, runners by srun on its nodes", async () => {
    const r = await waitFor(s, "salloc", ["--ntasks=3", process.execPath, ...cliCommand(), "mpirun", "--no-progress", fixture("slurm-mpi.ts").pathname, "--", "salloc"]);
    expect(r.code, r.stderr).toBe(0);
    const m = /^salloc: 3 ranks, sum 6, in (\d+)\.(\d+)$/m.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(r.stderr).toContain(`Granted job allocation ${m![1]}`);
  }, 180_000);

  it("strand mpirun in an sbatch job, with -n given", async () => {
    const out = path.join(dir, "mpi-%j.out");
    const cmd = [process.execPath, ...cliCommand(), "mpirun", "-n", "2", "--no-progress", fixture("slurm-mpi.ts").pathname, "--", "sbatch"].join(" ");
    const job = await sbatch(s, ["--ntasks=4", `--chdir=${repoRoot}`, `--output=${out}`, `--wrap=${cmd}`]);
    expect(await jobEnd(s, job)).toEqual({ state: "COMPLETED", exitCode: 0 });
    expect(await readFile(out.replace("%j", job), "utf8")).toMatch(new RegExp(`^sbatch: 2 ranks, sum 3, in ${job}\\.\\d+$`, "m"));
  }, 180_000);
});
