import { inspect } from "node:util";
import { Command } from "commander";
import { wholeNumber } from "./whole-number.ts";
import { connect, local } from "../driver/connect.ts";
import { allocationCluster, slurmAllocation } from "../driver/slurm/allocation.ts";
import type { Cluster } from "../driver/cluster.ts";
import { JobAbortedError, MpiAbortError, WasmExitError } from "../errors.ts";
import { isWasmProgram } from "../driver/wasm-program.ts";
import { PROGRESS_ENV } from "../driver/observe/progress-env.ts";
import { showProgress } from "../driver/observe/progress-display.ts";
import { progressChoice, progressFlags, type ProgressFlags } from "./progress-flags.ts";
import { tlsOptions, type TlsFlags } from "./tls-flags.ts";
import { withJobClusterFlags } from "./cluster-flags.ts";

// `strand mpirun -n 4 [--local 2 | --runners a,b] prog.ts -- args`: MPI's launcher for a
// module. Starts the ranks of one exported function, prints rank 0's result, and exits
// non-zero with the failed rank's remote stack when the job is aborted. With a .wasm (a C
// program, `strand cc`), the ranks run the program: its output is printed as it comes,
// and the exit status is MPI_Abort's error code, or a rank's non-zero exit status, or 1. Inside a Slurm
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

/** `--env K=V` (or `--env K`: K's value here), repeatable: the C program's whole environment. */
function envEntry(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const eq = v.indexOf("=");
  const name = eq === -1 ? v : v.slice(0, eq);
  if (name === "") throw new Error(`--env wants NAME=VALUE or NAME, got "${v}"`);
  const value = eq === -1 ? process.env[name] : v.slice(eq + 1);
  if (value === undefined) throw new Error(`--env ${name}: no value given, and ${name} is not set here`);
  return { ...prev, [name]: value };
}

/** The status a failed job of a C program exits with: MPI_Abort's code, a rank's exit status, else 1 (as Open MPI's mpirun). */
export function wasmExitStatus(err: unknown): number {
  const seen = new Set<unknown>();
  let exit: number | undefined;
  for (let e = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof MpiAbortError) return statusByte(e.errorCode);
    if (e instanceof WasmExitError) exit ??= statusByte(e.exitCode);
  }
  return exit ?? 1;
}

/** A process exit status is a byte; a code that maps to 0 would say "success". */
const statusByte = (code: number): number => (code & 0xff) || 1;

function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err instanceof JobAbortedError && err.cause instanceof Error ? `\ncaused by ${err.cause.stack ?? err.cause.message}` : "";
  return `${err.name}: ${err.message}${cause}`;
}

export function mpirunCommand(): Command {
  return withJobClusterFlags(new Command("mpirun"), "the job")
    .description("run an exported function of a module as an SPMD job of n ranks (MPI style); prints rank 0's result")
    .argument("<module>", "the TypeScript or JavaScript module, or a C program compiled to WebAssembly (prog.wasm, from strand cc)")
    .argument("[args...]", "arguments for the function (after --), parsed as JSON where possible")
    .option("-n, --np <n>", "number of ranks (in a Slurm allocation, default its tasks: SLURM_NTASKS)", (v) => wholeNumber(v, "-n"))
    .option("--export <name>", "the exported function each rank runs", "main")
    .option("--env <name=value>", "for a .wasm: set a variable of the program's environment (repeatable; NAME alone copies it from here); nothing else is passed", envEntry)
    .option("--wasm-memory <MiB>", "for a .wasm: each rank's linear memory limit in MiB (default 1024, at most 4096)", (v) => wholeNumber(v, "--wasm-memory"))
    .addOption(progressFlags.on())
    .addOption(progressFlags.off())
    .addOption(progressFlags.interval())
    .option("--trace <file>", "write a trace of the job (Chrome Trace Event JSON, for Perfetto)")
    .action(async (module: string, args: string[], o: { np?: number; export: string; env?: Record<string, string>; wasmMemory?: number; local?: number; threads?: number; runners?: string; head?: string; token?: string; trace?: string } & TlsFlags & ProgressFlags) => {
      const token = o.token || undefined;
      // Ranks finished of n, drawn here; connect() / local() must not draw the calls again.
      const how = progressChoice(o);
      delete process.env[PROGRESS_ENV];
      const tls = tlsOptions(o);
      // Inside an allocation, runners named (--runners, STRAND_RUNNERS) or --local still win.
      const head = o.head ?? (process.env.STRAND_HEAD || undefined);
      const allocation = o.local === undefined && o.runners === undefined && head === undefined && !process.env.STRAND_RUNNERS ? slurmAllocation() : undefined;
      const np = o.np ?? allocation?.tasks;
      if (np === undefined) throw new Error("how many ranks? give -n <n> (outside a Slurm allocation there is no default)");
      let cluster: Cluster;
      if (allocation !== undefined) {
        cluster = await allocationCluster(allocation, { ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
      } else if (o.local !== undefined || (o.runners === undefined && head === undefined && !process.env.STRAND_RUNNERS)) {
        cluster = await local({ runners: o.local ?? 1, ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
      } else {
        cluster = await connect({
          ...(o.runners !== undefined ? { runners: o.runners.split(",").map((s) => s.trim()).filter(Boolean) } : {}),
          ...(head !== undefined && o.runners === undefined ? { head } : {}),
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
      const wasm = isWasmProgram(module);
      try {
        if (wasm) {
          if (o.trace !== undefined) await cluster.trace.start();
          const options = { size: np, wasm: { env: o.env ?? {}, ...(o.wasmMemory !== undefined ? { memoryMiB: o.wasmMemory } : {}) } };
          await cluster.spmd(options, module, ...args).finally(async () => {
            if (o.trace !== undefined) await cluster.trace.stop(o.trace);
          });
          endProgress(); // the program printed what it had to say
        } else {
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
        }
      } catch (err) {
        endProgress();
        process.stderr.write(`strand mpirun: ${describeFailure(err)}\n`);
        code = wasm ? wasmExitStatus(err) : 1;
      } finally {
        await cluster.close();
      }
      process.exit(code);
    });
}

