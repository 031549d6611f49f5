import { spawn, type ChildProcess } from "node:child_process";
import { Command, Option } from "commander";
import { startSlurmRunners, type SlurmRunners, type SlurmRunnersOptions } from "../driver/slurm/slurm.ts";
import { tlsEnv } from "../driver/tls-env.ts";
import { progressEnv, progressFlags, type ProgressFlags } from "./progress-flags.ts";
import { tlsFlags, tlsOptions, type TlsFlags } from "./tls-flags.ts";

// `strand slurm --jobs 4 --threads 8 --walltime 1:00:00 script.ts`: a head here, runner jobs
// by sbatch that join it, and the driver script run against them (STRAND_HEAD and the token
// in its environment, as `strand run --head` does). Every job is cancelled when the script
// ends, or when this command is interrupted (SIGINT, SIGTERM).

interface SlurmFlags extends TlsFlags, ProgressFlags {
  jobs: number;
  threads: number;
  memory?: string;
  walltime?: string;
  partition?: string;
  account?: string;
  jobName?: string;
  logDir?: string;
  host?: string;
  headPort?: number;
  drain?: number;
  sbatch: string[];
  prologue: string[];
  command?: string;
  poll?: number;
  token?: string;
  remoteLogs: boolean;
}

export function slurmCommand(): Command {
  return new Command("slurm")
    .description("run a driver script on runners submitted as Slurm jobs (sbatch), joined to a head started here; cancels them at the end")
    .argument("<script>", "the driver script (connect() finds the head in STRAND_HEAD)")
    .argument("[args...]", "arguments for the script (after --)")
    .option("--jobs <n>", "runner jobs to submit", (v) => whole(v, "--jobs", 0), 1)
    .option("--threads <n>", "threads per runner, and CPUs per job (--cpus-per-task)", (v) => whole(v, "--threads", 1), 1)
    .option("--memory <size>", "memory per job, e.g. 4G (sbatch --mem)")
    .option("--walltime <time>", "time limit per job: minutes or [days-]hours:minutes:seconds (sbatch --time)")
    .option("--partition <name>", "sbatch --partition")
    .option("--account <name>", "sbatch --account")
    .option("--job-name <name>", "the runner jobs' name in the queue (default strand-runner)")
    .option("--log-dir <dir>", "where each job's output goes (default: Slurm's, slurm-<id>.out here)")
    .option("--host <address>", "the address the head listens on, which the nodes dial (default: this host name's address)")
    .option("--head-port <port>", "the head's port (default: a free one)", (v) => whole(v, "--head-port", 0))
    .option("--drain <seconds>", "seconds before walltime a runner is told to drain (default 60)", (v) => whole(v, "--drain", 1))
    .option("--sbatch <option>", "another sbatch option for the runner jobs, e.g. --sbatch=--qos=debug (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--prologue <line>", "a shell line each job runs before the runner, e.g. 'module load nodejs' (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--command <words>", "how a node runs strand (default: this node's node and this install, on a shared file system)")
    .addOption(new Option("--poll <ms>", "how often squeue is asked about the jobs (default 10000)").argParser((v) => whole(v, "--poll", 1)).hideHelp())
    .addOption(new Option("--token <token>", "the cluster's token (default: a fresh random one)").env("STRAND_TOKEN"))
    .addOption(tlsFlags.cert("certificate of the head, the runners and the script (PEM file or text); valid for the nodes' addresses"))
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca("CA that signs the certificates: mutual TLS everywhere"))
    .addOption(progressFlags.on())
    .addOption(progressFlags.off())
    .addOption(progressFlags.interval())
    .option("--no-remote-logs", "leave what remote functions print on the runners instead of printing it here")
    .action(async (script: string, args: string[], o: SlurmFlags) => {
      const tls = tlsOptions(o);
      const options: SlurmRunnersOptions = {
        jobs: o.jobs, threads: o.threads, memory: o.memory, walltime: o.walltime, partition: o.partition, account: o.account,
        jobName: o.jobName, logDirectory: o.logDir, host: o.host, headPort: o.headPort, drainSeconds: o.drain,
        jobDirectives: o.sbatch, prologue: o.prologue, command: o.command, pollMs: o.poll, token: o.token || undefined, tls,
      };
      let runners: SlurmRunners | undefined;
      let child: ChildProcess | undefined;
      let signalled: NodeJS.Signals | undefined;
      // Interrupted: the script is told to stop; the jobs are cancelled once it has (below).
      const onSignal = (sig: NodeJS.Signals): void => {
        signalled ??= sig;
        if (child !== undefined && child.exitCode === null) child.kill("SIGTERM");
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let code = 1;
      try {
        runners = await startSlurmRunners(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
        process.stderr.write(`strand slurm: head on ${runners.head}; runner jobs ${runners.jobs.ids.join(", ") || "none"} submitted\n`);
        if (signalled === undefined) {
          const env: NodeJS.ProcessEnv = { ...process.env, ...tlsEnv(tls), ...progressEnv(o), STRAND_HEAD: runners.head, STRAND_TOKEN: runners.token };
          delete env.STRAND_RUNNERS; // the runners are the head's
          if (!o.remoteLogs) env.STRAND_REMOTE_LOGS = "0";
          const started = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script, ...args], { stdio: "inherit", env });
          child = started;
          code = await new Promise<number>((resolve) => started.on("exit", (c, sig) => resolve(c ?? (sig ? 128 : 1))));
        }
      } catch (err) {
        process.stderr.write(`strand slurm: ${(err as Error).message}\n`);
      } finally {
        const ids = runners?.jobs.ids ?? [];
        await runners?.stop();
        if (ids.length > 0) process.stderr.write(`strand slurm: runner jobs ${ids.join(", ")} cancelled\n`);
      }
      process.exit(signalled !== undefined ? 128 + (signalled === "SIGINT" ? 2 : 15) : code);
    });
}

function whole(v: string, flag: string, least: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < least) throw new Error(`${flag} wants a whole number >= ${least}, got "${v}"`);
  return n;
}
