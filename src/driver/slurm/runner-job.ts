// A runner job as sbatch gets it, pure: the options on sbatch's command line (no quoting
// to get wrong, as there would be in #SBATCH lines), and the script, which only starts the
// runner. The token and TLS are not here: they travel in the job's environment.

export interface RunnerJobSpec {
  /** The head the runner joins, host:port. */
  head: string;
  /** Runner threads, and the CPUs asked for (--cpus-per-task). */
  threads: number;
  /** Memory per job in MiB (--mem), if asked for. */
  memoryMiB?: number | undefined;
  /** --time: minutes, or [days-]hours:minutes:seconds. */
  walltime?: string | undefined;
  partition?: string | undefined;
  account?: string | undefined;
  jobName: string;
  /** Seconds before walltime that Slurm sends the runner SIGTERM, so it drains in time. */
  drainSeconds: number;
  /** Where the runner's output goes (--output); Slurm's default (slurm-<id>.out here) if unset. */
  logDirectory?: string | undefined;
  /** More sbatch options, as written on its command line (e.g. --qos=debug). */
  directives: readonly string[];
  /** Shell lines before the runner starts (e.g. `module load nodejs`). */
  prologue: readonly string[];
  /** The shell words that run `strand` on a node. */
  command: string;
}

/** sbatch's options for one runner job. */
export function sbatchArgs(j: RunnerJobSpec): string[] {
  const args = [
    `--job-name=${j.jobName}`, "--nodes=1", "--ntasks=1", `--cpus-per-task=${j.threads}`,
    // B: the batch shell is the runner (exec): by default Slurm would signal only job steps.
    `--signal=B:TERM@${j.drainSeconds}`,
    // The driver's environment, with the token in it (sites may default to --export=NONE).
    "--export=ALL",
  ];
  if (j.memoryMiB !== undefined) args.push(`--mem=${j.memoryMiB}M`);
  if (j.walltime !== undefined) args.push(`--time=${j.walltime}`);
  if (j.partition !== undefined) args.push(`--partition=${j.partition}`);
  if (j.account !== undefined) args.push(`--account=${j.account}`);
  if (j.logDirectory !== undefined) args.push(`--output=${j.logDirectory}/${j.jobName}-%j.out`);
  return [...args, ...j.directives];
}

/** Seconds a runner job waits for a lost head before it drains and exits (`--head-timeout`). */
export const HEAD_TIMEOUT_S = 600;

/** The runner's drain bound: what is left of the warning before walltime, less a margin to exit. */
export function graceMs(drainSeconds: number): number {
  return Math.max(1000, (drainSeconds - Math.min(10, drainSeconds / 4)) * 1000);
}

/** The job script: the prologue, then the runner in the batch shell's place (it gets Slurm's signals). */
export function runnerScript(j: RunnerJobSpec): string {
  const runner = [
    j.command, "runner", "--join", j.head, "--listen", "0.0.0.0:0", "--threads", String(j.threads), "--grace", String(graceMs(j.drainSeconds)),
    // Its share of the job's memory for the object store (the default, 30% of the node's RAM, is not the job's).
    ...(j.memoryMiB !== undefined ? ["--object-memory", String(Math.max(1, Math.floor(j.memoryMiB * 0.3)))] : []),
    "--tag", `slurm.job="$SLURM_JOB_ID"`,
    // The head lives in the driver's process tree: if both were killed (kill -9, a lost login
    // node), the runner gives its allocation back after this long instead of at walltime.
    "--head-timeout", String(HEAD_TIMEOUT_S),
  ];
  return ["#!/bin/sh", "# A Strand runner: joins the head, drains on SIGTERM (scancel, or walltime near).", ...j.prologue, `exec ${runner.join(" ")}`, ""].join("\n");
}

/** A word for sh, quoted when it needs to be. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Memory as Slurm writes it (`4G`, `512M`, `4GB`, a number of MiB) in MiB. */
export function memoryMiB(memory: string | number): number {
  if (typeof memory === "number") {
    if (!Number.isInteger(memory) || memory < 1) throw new TypeError(`slurm(): memory in MiB must be a whole number >= 1, got ${memory}`);
    return memory;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?(?:i?B)?\s*$/i.exec(memory);
  if (m === null) throw new TypeError(`slurm(): memory "${memory}" is not like 4G, 512M or 4096 (MiB)`);
  const scale = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[(m[2] ?? "M").toUpperCase() as "K" | "M" | "G" | "T"];
  return Math.max(1, Math.ceil(Number(m[1]) * scale));
}
