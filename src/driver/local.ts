import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { loadTls, type TlsOptions, type TlsPem } from "../transport/secure.ts";
import { devRunnerEntry } from "./dev-runner.ts";
import { tlsEnv } from "./tls-env.ts";

export interface LocalRunnersOptions {
  runners?: number;
  /** Threads per runner; default: the cores shared out among the runners. */
  threads?: number;
  token?: string;
  cacheDir?: string;
  /** Each runner's object store budget, in MiB (default: 30% of RAM); over it, objects spill to disk. */
  objectMemoryMiB?: number;
  /** Where the runners spill objects over their budget, each in a subdirectory of its own (`strand runner --spill-dir`; default: the OS temp dir). */
  spillDir?: string;
  /**
   * TLS for the runners (`cert` and `key`, valid for 127.0.0.1; with `ca`, mutual TLS) and
   * for the driver, which presents the same certificate. PEM text or file paths.
   */
  tls?: TlsOptions;
  /** Each runner serves Prometheus metrics on a free loopback port (`metricsAddresses`). */
  metrics?: boolean;
  /** A head (host:port) the runners register with (`strand runner --join`). */
  join?: string;
  /** The tools the runners offer to commands (`strand runner --tools`; default: those found on PATH). */
  tools?: string[];
  /**
   * SPMD ranks' threads: "core" (the default) binds each to a CPU of its own while its job
   * runs, as mpirun binds ranks; "none" leaves them to the scheduler (`strand runner --bind`).
   */
  bind?: "none" | "core";
}

export interface LocalRunners {
  addresses: string[];
  /** Where each runner serves metrics (empty unless asked for). */
  metricsAddresses: string[];
  token: string;
  /** The TLS material the runners were given (the driver uses it too). */
  tls: TlsPem | undefined;
  processes: ChildProcess[];
  stop(): Promise<void>;
}

export const fromSource = import.meta.url.endsWith(".ts");
export const cliMain = fileURLToPath(new URL(`../cli/main${fromSource ? ".ts" : ".js"}`, import.meta.url));

/** The node arguments that run our CLI: from source (tests of the CLI itself) through tsx's loader. */
export function cliCommand(): string[] {
  return fromSource ? ["--import", import.meta.resolve("tsx"), cliMain] : [cliMain];
}

/**
 * glibc's malloc settings for runner processes (other C libraries ignore them); each is
 * kept as the user set it if they did.
 * - `hugetlb=1`: big buffers (frames, objects, rank messages) in transparent huge pages,
 *   which glibc then asks for (madvise) where the kernel leaves it to the program. Measured
 *   here: allocating and filling 64 MiB took 37 ms with 4 KiB pages and 8 ms with huge pages.
 * - `arena_max=1`, `mmap_max=0`, `trim_threshold=256 MiB`: a freed big buffer is reused by
 *   the next instead of unmapped (one arena, nothing mapped apart, 256 MiB kept free at the
 *   heap's end). Without them glibc maps every block of 32 MiB or more afresh, and a worker
 *   thread's arena anything of 64 MiB or more whatever the threshold, so every big value and
 *   rank message landed in first-touched memory. Measured in one quiet run at 7e7ff37 (load
 *   ~3), without -> with: 64 MiB ping-pong on one runner 1,627 -> 2,996 MB/s (after
 *   collectives 1,824 -> 2,674), across runners 47% -> 61% of OpenMPI TCP, allreduce of 2^20
 *   doubles 1.43x -> 1.16x OpenMPI TCP, 100 MB echo 0.30x -> 0.43x raw, runner -> runner
 *   fetch 0.54x -> 1.05x raw; one burst of small calls 96k -> 110k/s (one arena did not
 *   slow the small-call path). What it costs: memory allocated and never filled becomes
 *   resident if it is zeroed (calloc clears recycled memory, where a fresh mapping stays
 *   untouched), so frame buffers are allocated unzeroed (transport/unzeroed.ts):
 *   test/fuzz-frames.test.ts, whose length prefixes of up to 512 MiB make a runner allocate
 *   frames it never fills, saw +762 MB of peak RSS before that. docs/decisions.md, "Ranks on
 *   one runner at memory speed".
 */
export const RUNNER_TUNABLES: ReadonlyArray<readonly [string, string]> = [
  ["glibc.malloc.hugetlb", "1"],
  ["glibc.malloc.arena_max", "1"],
  ["glibc.malloc.mmap_max", "0"],
  ["glibc.malloc.trim_threshold", String(256 * 1024 * 1024)],
];

/** GLIBC_TUNABLES for a runner: the user's, then each of RUNNER_TUNABLES they did not set. */
export function runnerTunables(existing = process.env.GLIBC_TUNABLES, tunables = RUNNER_TUNABLES): string {
  const set = existing === undefined || existing === "" ? [] : existing.split(":");
  for (const [name, value] of tunables) if (!set.some((s) => s.startsWith(`${name}=`))) set.push(`${name}=${value}`);
  return set.join(":");
}

/**
 * V8 flags of the runner processes local() starts (the flags are the process's: its worker
 * threads have them too). A runner exists to run hot code: it optimizes it sooner. With V8's
 * default tier-up budget (67,584), a fresh cluster's call path (frame reading, the lane, the
 * codec) was still being compiled by TurboFan during the first burst after a 2,000-call
 * warm-up: 27% of a runner's CPU samples in that burst were the compiler (perf, cpu-clock),
 * 4.7% with 8,192, and the runner's samples fell by about a fifth (2,512 -> 1,829 for
 * 50,000 calls, loaded machine). Young-generation GC was 2.5-3% of the runner's samples, so
 * a bigger semi-space would buy little there: left at V8's default.
 */
export const RUNNER_NODE_FLAGS: readonly string[] = ["--interrupt-budget=8192"];

/**
 * Starts runner processes on 127.0.0.1 with random ports and a fresh random token
 * (passed in the environment, never on the command line where `ps` shows it).
 * Each child exits if this process dies (it watches its stdin).
 */
export async function startLocalRunners(opts: LocalRunnersOptions = {}, listen?: readonly string[]): Promise<LocalRunners> {
  // `listen`: fixed addresses, one runner each (a soak restarts a runner where it was).
  const n = listen?.length ?? opts.runners ?? 2;
  const threads = opts.threads ?? Math.max(1, Math.floor(os.availableParallelism() / n));
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const tls = opts.tls === undefined ? undefined : loadTls(opts.tls);
  const env = { ...process.env, STRAND_TOKEN: token, STRAND_LOG: process.env.STRAND_LOG ?? "warn", GLIBC_TUNABLES: runnerTunables(), ...tlsEnv(tls) }; // as PEM; ours is never inherited
  // STRAND_RUNNER_NODE_ARGS: extra node flags for the runner processes (e.g. --cpu-prof when
  // profiling); after ours, so they win.
  const nodeArgs = [...RUNNER_NODE_FLAGS, ...(process.env.STRAND_RUNNER_NODE_ARGS?.split(" ").filter((a) => a !== "") ?? [])];
  const entry = fromSource ? [await devRunnerEntry()] : [cliMain];
  const args = [...nodeArgs, ...entry, "runner", "--threads", String(threads), "--exit-with-stdin"];
  if (opts.cacheDir !== undefined) args.push("--cache-dir", opts.cacheDir);
  if (opts.objectMemoryMiB !== undefined) args.push("--object-memory", String(opts.objectMemoryMiB));
  if (opts.spillDir !== undefined) args.push("--spill-dir", opts.spillDir);
  if (opts.metrics === true) args.push("--metrics", "127.0.0.1:0");
  if (opts.join !== undefined) args.push("--join", opts.join);
  if (opts.bind !== undefined) args.push("--bind", opts.bind);
  if (opts.tools !== undefined) args.push("--tools", opts.tools.length === 0 ? "none" : opts.tools.join(","));
  const processes: ChildProcess[] = [];
  const started = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, [...args, "--listen", listen?.[i] ?? "127.0.0.1:0"], { env, stdio: ["pipe", "pipe", "inherit"] });
    processes.push(child);
    return listeningAddress(child);
  });
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => stopProcess(p)));
  };
  try {
    const ready = await Promise.all(started);
    return {
      addresses: ready.map((r) => r.address), metricsAddresses: ready.flatMap((r) => (r.metrics === undefined ? [] : [r.metrics])),
      token, tls, processes, stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The runner's (or head's) address once it says `listening on`, and its metrics address if it said `metrics on` first. */
export function listeningAddress(child: ChildProcess): Promise<{ address: string; metrics: string | undefined }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null): void => reject(new Error(`${child.spawnargs.includes("head") ? "head" : "runner"} exited with code ${code} before listening`));
    child.once("exit", onExit);
    child.once("error", reject);
    let metrics: string | undefined;
    lines.on("line", (line) => {
      metrics = /^metrics on (\S+)$/.exec(line)?.[1] ?? metrics;
      const m = /^listening on (\S+)$/.exec(line);
      if (m === null) return;
      child.off("exit", onExit);
      resolve({ address: m[1]!, metrics });
    });
  });
}

/** SIGTERM (the runner drains and exits), SIGKILL if it has not exited after `graceMs`. */
export function stopProcess(p: ChildProcess, graceMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill("SIGKILL"), graceMs);
    p.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill("SIGTERM");
  });
}
