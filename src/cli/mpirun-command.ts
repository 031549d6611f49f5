import { inspect } from "node:util";
import { Command, Option } from "commander";
import { connect, local } from "../driver/connect.ts";
import { allocationCluster, slurmAllocation } from "../driver/slurm/allocation.ts";
import type { Cluster } from "../driver/cluster.ts";
import { JobAbortedError } from "../errors.ts";
import { PROGRESS_ENV } from "../driver/observe/progress-env.ts";
import { showProgress } from "../driver/observe/progress-display.ts";
import { progressChoice, progressFlags, type ProgressFlags } from "./progress-flags.ts";
import { tlsFlags, tlsOptions, type TlsFlags } from "./tls-flags.ts";

// `strand mpirun -n 4 [--local 2 | --runners a,b] prog.ts -- args`: MPI's launcher for a
// module. Starts the ranks of one exported function, prints rank 0's result, and exits
// non-zero with the failed rank's remote stack when the job is aborted. Inside a Slurm
// allocation (salloc, sbatch) with no runners named, it runs on the allocation: a runner per
// node by srun, a thread per task, and -n defaults to the allocation's tasks.

/** Program arguments: JSON where they parse as JSON (numbers, arrays...), strings otherwise. */
export function parseProgramArg(a: string): unknown {
  try {
    return JSON.parse(a) as unknown;
  } catch {
    return a;
  }
}

function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err instanceof JobAbortedError && err.cause instanceof Error ? `\ncaused by ${err.cause.stack ?? err.cause.message}` : "";
  return `${err.name}: ${err.message}${cause}`;
}

export function mpirunCommand(): Command {
  return new Command("mpirun")
    .description("run an exported function of a module as an SPMD job of n ranks (MPI style); prints rank 0's result")
    .argument("<module>", "the TypeScript or JavaScript module")
    .argument("[args...]", "arguments for the function (after --), parsed as JSON where possible")
    .option("-n, --np <n>", "number of ranks (in a Slurm allocation, default its tasks: SLURM_NTASKS)", (v) => wholeNumber(v, "-n"))
    .option("--export <name>", "the exported function each rank runs", "main")
    .addOption(new Option("--local <n>", "start n local runners for the job").argParser((v) => wholeNumber(v, "--local")).conflicts("runners"))
    .option("--threads <n>", "threads per local runner", (v) => wholeNumber(v, "--threads"))
    .option("--runners <list>", "comma-separated runner addresses (host:port); default STRAND_RUNNERS")
    .addOption(new Option("--token <token>", "shared token for the runners").env("STRAND_TOKEN"))
    .addOption(tlsFlags.cert())
    .addOption(tlsFlags.key())
    .addOption(tlsFlags.ca())
    .addOption(progressFlags.on())
    .addOption(progressFlags.off())
    .addOption(progressFlags.interval())
    .option("--trace <file>", "write a trace of the job (Chrome Trace Event JSON, for Perfetto)")
    .action(async (module: string, args: string[], o: { np?: number; export: string; local?: number; threads?: number; runners?: string; token?: string; trace?: string } & TlsFlags & ProgressFlags) => {
      const token = o.token || undefined;
      // Ranks finished of n, drawn here; connect() / local() must not draw the calls again.
      const how = progressChoice(o);
      delete process.env[PROGRESS_ENV];
      const tls = tlsOptions(o);
      // Inside an allocation, runners named (--runners, STRAND_RUNNERS) or --local still win.
      const allocation = o.local === undefined && o.runners === undefined && !process.env.STRAND_RUNNERS ? slurmAllocation() : undefined;
      const np = o.np ?? allocation?.tasks;
      if (np === undefined) throw new Error("how many ranks? give -n <n> (outside a Slurm allocation there is no default)");
      let cluster: Cluster;
      if (allocation !== undefined) {
        cluster = await allocationCluster(allocation, { ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
      } else if (o.local !== undefined || (o.runners === undefined && !process.env.STRAND_RUNNERS)) {
        cluster = await local({ runners: o.local ?? 1, ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
      } else {
        cluster = await connect({
          ...(o.runners !== undefined ? { runners: o.runners.split(",").map((s) => s.trim()).filter(Boolean) } : {}),
          ...(token ? { token } : {}), ...(tls ? { tls } : {}),
        });
      }
      const view = how === undefined ? undefined : cluster.progress();
      const display = view === undefined ? undefined : showProgress(() => view.snapshot(), { style: how!.style, intervalMs: how!.intervalMs, label: "mpirun", unit: "ranks", total: np });
      const endProgress = (): void => {
        view?.stop();
        if (view !== undefined) display?.stop(view.snapshot());
      };
      let code = 0;
      try {
        const m = await cluster.import<Record<string, (...a: unknown[]) => unknown>>(module);
        const fn = m[o.export];
        if (fn === undefined) throw new Error(`${module} has no exported function "${o.export}"`);
        if (o.trace !== undefined) await cluster.trace.start();
        const results = await cluster.spmd(np, fn, ...args.map(parseProgramArg)).finally(async () => {
          if (o.trace !== undefined) await cluster.trace.stop(o.trace);
        });
        endProgress();
        const r0 = results[0];
        if (r0 !== undefined) process.stdout.write(`${typeof r0 === "string" ? r0 : inspect(r0, { depth: 6, colors: false })}\n`);
      } catch (err) {
        endProgress();
        process.stderr.write(`strand mpirun: ${describeFailure(err)}\n`);
        code = 1;
      } finally {
        await cluster.close();
      }
      process.exit(code);
    });
}

function wholeNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a whole number >= 1, got "${v}"`);
  return n;
}
