import { execFile } from "node:child_process";
import { SlurmError } from "../../errors.ts";

// The three Slurm commands a cluster of runner jobs needs, behind an interface so that the
// jobs' bookkeeping (slurm-jobs.ts) runs in unit tests against a fake Slurm.

/** What Slurm says of one job: its id and state (PENDING, RUNNING, COMPLETED, TIMEOUT...). */
export interface JobState {
  id: string;
  state: string;
}

export interface SlurmCommands {
  /** `sbatch`: submits `script` with these options; resolves with the job's id. */
  submit(args: readonly string[], script: string, env: NodeJS.ProcessEnv): Promise<string>;
  /**
   * `scancel`: cancels the jobs (SIGTERM to their processes, SIGKILL after Slurm's KillWait);
   * with `signal`, only sends it (to a job's steps, or to one step: `job.step`).
   */
  cancel(ids: readonly string[], signal?: string): Promise<void>;
  /** `squeue`: this user's jobs of that name, finished ones included while Slurm keeps them. */
  jobs(name: string): Promise<JobState[]>;
}

/** States a job leaves only by being purged: its processes are gone (or going: COMPLETING). */
const ENDED = new Set(["BOOT_FAIL", "CANCELLED", "COMPLETED", "COMPLETING", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT"]);

export function hasEnded(state: string): boolean {
  return ENDED.has(state);
}

/** Ended because its command failed (a runner that would not start, or crashed), not by time, cancel or drain. */
export function hasFailed(state: string): boolean {
  return state === "FAILED" || state === "BOOT_FAIL" || state === "OUT_OF_MEMORY";
}

/** The commands on this machine's PATH (SLURM_CONF and the like from the environment). */
export const slurmCommands: SlurmCommands = {
  async submit(args, script, env) {
    const out = await run("sbatch", ["--parsable", ...args], env, script);
    // --parsable prints "id" or "id;cluster".
    const id = out.trim().split(";")[0] ?? "";
    if (!/^\d+$/.test(id)) throw new SlurmError("sbatch", `printed no job id: ${JSON.stringify(out.trim())}`);
    return id;
  },
  async cancel(ids, signal) {
    if (ids.length > 0) await run("scancel", [...(signal !== undefined ? [`--signal=${signal}`] : []), ...ids], process.env);
  },
  async jobs(name) {
    const out = await run("squeue", ["--me", "--noheader", "--states=all", `--name=${name}`, "--format=%i %T"], process.env);
    return parseSqueue(out);
  },
};

/** `squeue --format="%i %T"` lines as jobs. */
export function parseSqueue(out: string): JobState[] {
  const jobs: JobState[] = [];
  for (const line of out.split("\n")) {
    const [id, state] = line.trim().split(/\s+/);
    if (id && state) jobs.push({ id, state });
  }
  return jobs;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env, encoding: "utf8", timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      const said = stderr.trim().split("\n").filter((l) => l !== "").slice(-3).join("; ");
      reject(new SlurmError(command, missing ? `not found on the PATH: is this a Slurm login node?` : said || err.message));
    });
    // A command that exits before reading all of its input (sbatch refusing at once, squeue
    // and scancel reading none) closes the pipe under us: EPIPE, not worth a crash. Its
    // exit status says what happened.
    child.stdin?.on("error", () => {});
    child.stdin?.end(input ?? "");
  });
}
