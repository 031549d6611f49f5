import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import os from "node:os";
import type { Logger } from "pino";
import { createLogger } from "../../log.ts";
import { isLoopback } from "../../transport/loopback.ts";
import { loadTls, type TlsOptions } from "../../transport/secure.ts";
import { setScaler, stopOnClose, type Cluster } from "../cluster.ts";
import { connect, type ConnectOptions } from "../connect.ts";
import { devRunnerEntry } from "../dev-runner.ts";
import { cliMain, fromSource } from "../local.ts";
import { startLocalHead, type LocalHead } from "../local-head.ts";
import { tlsEnv } from "../tls-env.ts";
import { memoryMiB, runnerScript, sbatchArgs, shellWord, type RunnerJobSpec } from "./runner-job.ts";
import { slurmCommands, type SlurmCommands } from "./slurm-commands.ts";
import { SlurmJobs } from "./slurm-jobs.ts";

// slurm(): a cluster whose runners are Slurm jobs (like dask-jobqueue's SLURMCluster). This
// process starts a head; each job runs one runner that joins it; the driver learns them from
// the head. `strand slurm` uses startSlurmRunners() alone and hands the head to a script.

export interface SlurmRunnersOptions {
  /** Runner jobs to submit at once (default 1); `cluster.scale()` / `adapt()` change it. */
  jobs?: number;
  /** Threads of each job's runner, and the CPUs it asks for (--cpus-per-task; default 1). */
  threads?: number;
  /** Memory per job: `4G`, `512M`, or MiB as a number (--mem; default: the partition's). */
  memory?: string | number;
  /** Time limit of each job: minutes, or [days-]hours:minutes:seconds (--time; default: the partition's). */
  walltime?: string;
  partition?: string;
  account?: string;
  /** The cluster's token; default a fresh random one. Jobs get it in their environment, never argv. */
  token?: string;
  /**
   * TLS for the head, every runner and this driver (as for local()): `cert` and `key` must be
   * valid for the addresses the nodes are dialled at; with `ca`, mutual TLS.
   */
  tls?: TlsOptions;
  /**
   * The address the head listens on, which the nodes dial: default this machine's host name's
   * address, or 127.0.0.1 where that is a loopback address (a one-node Slurm).
   */
  host?: string;
  /** The head's port (default 0: a free one). */
  headPort?: number;
  /** Seconds before walltime the runner is told to drain (--signal=B:TERM@; default 60). */
  drainSeconds?: number;
  /** The jobs' name in the queue (default `strand-runner`): squeue is asked about this name. */
  jobName?: string;
  /** Where each job's output goes (`<dir>/<jobName>-<id>.out`); default Slurm's (the submitting directory). */
  logDirectory?: string;
  /** More sbatch options, e.g. `["--qos=debug", "--constraint=haswell"]` (dask-jobqueue's job_extra_directives). */
  jobDirectives?: string[];
  /** Shell lines the job runs before the runner, e.g. `module load nodejs` (dask-jobqueue's job_script_prologue). */
  prologue?: string[];
  /** How a node runs strand (shell words); default this node's `node` and this install, which must be on a shared file system. */
  command?: string;
  /** How often squeue is asked how the jobs are, in ms (default 10_000; sooner when a runner leaves). */
  pollMs?: number;
  /** Replaced for squeue, sbatch and scancel in tests. */
  commands?: SlurmCommands;
  logger?: Logger;
}

export interface SlurmOptions extends SlurmRunnersOptions, Omit<ConnectOptions, "runners" | "head" | "token" | "tls"> {
  /** How long calls wait for a runner (ms): default 10 minutes here, since jobs may sit in the queue. */
  waitForRunners?: number;
}

/** Jobs wait in Slurm's queue for minutes on a busy cluster: calls made meanwhile wait as long. */
export const SLURM_WAIT_FOR_RUNNERS = 600_000;

/** A head and the runner jobs that join it. */
export interface SlurmRunners {
  /** The head's address (STRAND_HEAD for a script). */
  head: string;
  token: string;
  jobs: SlurmJobs;
  /** The runner job's script (what sbatch is given). */
  script: string;
  /** Cancels every job submitted (and waits until Slurm ended them), then stops the head. */
  stop(): Promise<void>;
}

/** The address a head on this machine is dialled at from other nodes. */
export async function headHost(): Promise<string> {
  try {
    const { address } = await lookup(os.hostname());
    return isLoopback(address) ? "127.0.0.1" : address;
  } catch {
    return "127.0.0.1";
  }
}

/** The command that runs this install's CLI: this node's `node`, the same paths (a shared file system on a cluster). */
export async function strandCommandWords(): Promise<string[]> {
  return [process.execPath, fromSource ? await devRunnerEntry() : cliMain];
}

async function strandCommand(): Promise<string> {
  return (await strandCommandWords()).map(shellWord).join(" ");
}

function wholeNumber(v: number, name: string, least: number): number {
  if (!Number.isInteger(v) || v < least) throw new TypeError(`slurm(): ${name} must be a whole number >= ${least}, got ${v}`);
  return v;
}

/** Starts a head here and submits the runner jobs; nothing connects to them (see slurm()). */
export async function startSlurmRunners(o: SlurmRunnersOptions = {}): Promise<SlurmRunners> {
  const jobs = wholeNumber(o.jobs ?? 1, "jobs", 0);
  const threads = wholeNumber(o.threads ?? 1, "threads", 1);
  const drainSeconds = wholeNumber(o.drainSeconds ?? 60, "drainSeconds", 1);
  if (o.walltime !== undefined && !/^(\d+-)?\d+(:\d+){0,2}$/.test(o.walltime)) throw new TypeError(`slurm(): walltime "${o.walltime}" is not minutes or [days-]hours:minutes:seconds`);
  const log = o.logger ?? createLogger("strand-slurm");
  const token = o.token ?? randomBytes(24).toString("base64url");
  const tls = o.tls === undefined ? undefined : loadTls(o.tls);
  const host = o.host ?? (await headHost());
  const head: LocalHead = await startLocalHead({ listen: `${host}:${o.headPort ?? 0}`, token, ...(tls !== undefined ? { tls } : {}) });
  const spec: RunnerJobSpec = {
    head: head.address, threads, memoryMiB: o.memory === undefined ? undefined : memoryMiB(o.memory), walltime: o.walltime,
    partition: o.partition, account: o.account, jobName: o.jobName ?? "strand-runner", drainSeconds, logDirectory: o.logDirectory,
    directives: o.jobDirectives ?? [], prologue: o.prologue ?? [], command: o.command ?? (await strandCommand()),
  };
  const script = runnerScript(spec);
  const runnerJobs = new SlurmJobs({
    commands: o.commands ?? slurmCommands, args: sbatchArgs(spec), script, jobName: spec.jobName, threadsPerJob: threads,
    // The token and TLS ride in the jobs' environment (sbatch --export=ALL), never in argv or the script.
    env: { ...process.env, STRAND_TOKEN: token, ...tlsEnv(tls) },
    pollMs: o.pollMs ?? 10_000, log,
  });
  // A program that exits without close() (process.exit, an uncaught error) would leave its
  // jobs queued or running until walltime: they are cancelled as it goes, as dask-jobqueue
  // does at exit. Only synchronous work runs then. (A process killed by a signal runs nothing.)
  const atExit = (): void => {
    const ids = runnerJobs.held;
    if (ids.length > 0 && o.commands === undefined) spawnSync("scancel", ids, { stdio: "ignore", timeout: 10_000 });
  };
  process.on("exit", atExit);
  const stop = async (): Promise<void> => {
    process.off("exit", atExit);
    await runnerJobs.close();
    await head.stop();
  };
  try {
    await runnerJobs.scale(jobs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { head: head.address, token, jobs: runnerJobs, script, stop };
}

/**
 * A cluster of runners started as Slurm jobs: a head here, `jobs` runner jobs (sbatch) that
 * join it, and this driver connected to it. `cluster.scale(n)` and `cluster.adapt({ min,
 * max })` submit and cancel jobs; jobs that end while wanted (walltime) are replaced;
 * `close()` cancels every job and stops the head. Calls made before a runner joined wait
 * for one (`waitForRunners`: 10 minutes by default here).
 */
export async function slurm(options: SlurmOptions = {}): Promise<Cluster> {
  const runners = await startSlurmRunners(options);
  let cluster: Cluster;
  try {
    cluster = await connect({
      ...connectOptions(options), head: runners.head, token: runners.token, ...(options.tls !== undefined ? { tls: options.tls } : {}),
      waitForRunners: options.waitForRunners ?? SLURM_WAIT_FOR_RUNNERS,
    });
  } catch (err) {
    await runners.stop();
    throw err;
  }
  runners.jobs.watch(() => cluster.runners);
  cluster.on("runner", (e) => {
    if (e.type === "joined") runners.jobs.sawRunners();
    else runners.jobs.runnerGone();
  });
  setScaler(cluster, runners.jobs, options.logger ?? createLogger("strand-slurm"));
  stopOnClose(cluster, runners.stop);
  return cluster;
}

/** slurm()'s own options: a Record, so that an option added above and not here fails to compile. */
const runnerKeys: Record<keyof SlurmRunnersOptions, true> = {
  jobs: true, threads: true, memory: true, walltime: true, partition: true, account: true, token: true, tls: true, host: true, headPort: true,
  drainSeconds: true, jobName: true, logDirectory: true, jobDirectives: true, prologue: true, command: true, pollMs: true, commands: true, logger: true,
};

/** What of slurm()'s options is connect()'s (the rest, whatever connect() grows). */
function connectOptions(o: SlurmOptions): ConnectOptions {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !(k in runnerKeys))) as ConnectOptions;
}
