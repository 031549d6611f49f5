import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe } from "vitest";
import type { Cluster } from "../../src/index.ts";

// The tests' Slurm: start-slurm.sh once per test file (or a running one reused), stopped by
// stop-slurm.sh when the last file using it is done. Files that cannot have it (not root, no
// slurm-wlm or munge, daemons that will not start) are skipped with the reason in their title.

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export interface TestSlurm {
  /** The environment every Slurm command (and the driver, and its jobs) needs: SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  conf: string;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d !== "" && existsSync(path.join(d, bin)));
}

/** Why Slurm cannot run here, or undefined when start-slurm.sh started (or found) it. */
function start(): { slurm: TestSlurm } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: "needs root to start slurmd" };
  const missing = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "srun", "salloc"].filter((b) => !onPath(b) && !existsSync(`/usr/sbin/${b}`));
  if (missing.length > 0) return { reason: `${missing.join(", ")} not installed (apt-get install slurm-wlm munge)` };
  const r = spawnSync("bash", [path.join(here, "start-slurm.sh"), "--lease", String(process.pid)], { encoding: "utf8", timeout: 180_000 });
  const conf = /^SLURM_CONF=(.+)$/m.exec(r.stdout ?? "")?.[1];
  if (r.status !== 0 || conf === undefined) return { reason: `the Slurm daemons did not start: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}` };
  return { slurm: { conf, env: { ...process.env, SLURM_CONF: conf } } };
}

let started: { slurm: TestSlurm } | { reason: string } | undefined;

/**
 * `describe` when a Slurm runs here (started now, stopped after the file), `describe.skip`
 * titled with the reason otherwise. `body` gets the Slurm's environment.
 */
export function describeSlurm(title: string, body: (slurm: TestSlurm) => void): void {
  started ??= start();
  if ("reason" in started) {
    // The tests are still declared, so that the report lists them as skipped under the reason.
    describe.skip(`${title} (skipped: ${started.reason})`, () => body({ env: process.env, conf: "" }));
    return;
  }
  const slurm = started.slurm;
  process.env.SLURM_CONF = slurm.conf; // the driver and its sbatch / squeue / scancel read it
  describe(title, () => {
    afterAll(async () => {
      await run("bash", [path.join(here, "stop-slurm.sh"), "--lease", String(process.pid)]);
    });
    body(slurm);
  });
}

/** Runs a Slurm command; its stdout. */
export async function slurmCommand(slurm: TestSlurm, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { env: slurm.env });
  return stdout;
}

/** The state Slurm gives each of these jobs (RUNNING, PENDING, COMPLETED...); gone ones are missing. */
export async function jobStates(slurm: TestSlurm, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const out = await slurmCommand(slurm, "squeue", ["--noheader", "--states=all", "--format=%i %T", `--jobs=${ids.join(",")}`]).catch(() => "");
  return new Map(out.split("\n").filter((l) => l.trim() !== "").map((l) => l.trim().split(/\s+/) as [string, string]));
}

/** The ids of our jobs Slurm still runs or holds (any state but finished). */
export async function liveJobs(slurm: TestSlurm, name?: string): Promise<string[]> {
  const args = ["--noheader", "--format=%i", "--states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED"];
  if (name !== undefined) args.push(`--name=${name}`);
  const out = await slurmCommand(slurm, "squeue", args);
  return out.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/**
 * Polls `check` until it returns something other than undefined: for conditions only Slurm's
 * commands can tell (a job's state), which no event announces to us.
 */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The Slurm job ids of a cluster's live runners (their `slurm.job` tags). */
export function runnerJobs(cluster: Cluster): string[] {
  return cluster.runners.filter((r) => r.alive).flatMap((r) => r.tags.filter((t) => t.startsWith("slurm.job=")).map((t) => t.slice("slurm.job=".length)));
}

/** Resolves once `check` holds of the cluster's live runners' jobs: checked now and at every runner event. */
export function whenRunners(cluster: Cluster, what: string, check: (jobs: string[]) => boolean, timeoutMs = 90_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for runners: ${what} (jobs now: ${runnerJobs(cluster).join(",") || "none"})`)), timeoutMs);
    const test = (): boolean => {
      const jobs = runnerJobs(cluster);
      if (!check(jobs)) return false;
      clearTimeout(timer);
      resolve(jobs);
      return true;
    };
    if (test()) return;
    const listener = (): void => {
      if (test()) cluster.off("runner", listener);
    };
    cluster.on("runner", listener);
  });
}

/**
 * Waits until job `id` has ended (polling: nothing tells us) and gives its state and exit
 * code, as `scontrol show job` says them while Slurm still holds the job (MinJobAge).
 */
export async function jobEnd(slurm: TestSlurm, id: string, timeoutMs = 120_000): Promise<{ state: string; exitCode: number }> {
  return until(`job ${id} to end`, async () => {
    const shown = await slurmCommand(slurm, "scontrol", ["show", "job", id]).catch(() => "");
    const state = /\bJobState=(\S+)/.exec(shown)?.[1];
    if (state === undefined || /PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED/.test(state)) return undefined;
    return { state, exitCode: Number(/\bExitCode=(\d+):/.exec(shown)?.[1] ?? -1) };
  }, timeoutMs);
}

/** sbatch: submits and returns the job id. */
export async function sbatch(slurm: TestSlurm, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run("sbatch", ["--parsable", ...args], { env: { ...slurm.env, ...env } });
  return stdout.trim().split(";")[0]!;
}
