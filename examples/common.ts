// Shared by the examples: the result row, the table printer, and small helpers.
import { realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { connect, type Cluster, type Remote } from "../src/index.ts";

/** One measurement: an example at one size, run single-process and on the cluster. */
export interface Row {
  example: string;
  size: string;
  /** Wall time of the same kernel run in this process, in milliseconds. */
  singleMs: number;
  /** Wall time of the distributed run (split, remote calls, merge), in milliseconds. */
  strandMs: number;
  /** singleMs / strandMs. */
  speedup: number;
  /** Worker threads the distributed run had (runner threads in all): the cores it used. */
  cores: number;
  /** speedup / cores: 1 means every core ran as fast as the single process's one. */
  efficiency: number;
  /** How much work one run is, for rates: e.g. 2n^3 / 1e9 GFLOP, or the input's MB. */
  work: Work | undefined;
  /** Whether the distributed result equals the single-process result. */
  ok: boolean;
  /** What was compared, e.g. "max |diff| 0". */
  detail: string;
  /**
   * Set on a row whose point is not speed (a latency, a semantics): what the table prints in
   * place of the speedup, e.g. "latency: 43 µs/value". Its efficiency is not printed either.
   */
  shows?: string;
}

/** The size of one run's work in some unit, for the rate columns ("GFLOP", "MB"). */
export interface Work {
  amount: number;
  unit: string;
}

/** One run of an example at one size. */
export interface Trial {
  singleMs: number;
  strandMs: number;
  ok: boolean;
  detail: string;
}

/** How often to repeat a measurement: timings on a shared VM are noisy, so the best run is reported. */
export interface RepeatOptions {
  /** At most this many runs (default 3). */
  maxRuns?: number;
  /** No further run starts once the runs so far took this long (default 5000 ms). */
  budgetMs?: number;
}

/** What a row needs besides its trials: the cores of the distributed run, and the work per run. */
export interface RowShape {
  example: string;
  size: string;
  cores: number;
  work?: Work;
}

/** A row's speedup cell: the speedup, or what the row shows instead (Row.shows). */
export function speedupCell(r: Row): string {
  return r.shows ?? `${r.speedup.toFixed(2)}x`;
}

/**
 * Runs `trial` at least once and again while within `maxRuns` and `budgetMs`; reports the
 * fastest single-process and the fastest Strand time. Every run's result is checked.
 */
export async function repeatTrials(shape: RowShape, opts: RepeatOptions, trial: () => Promise<Trial>): Promise<Row> {
  const maxRuns = opts.maxRuns ?? 3;
  const budgetMs = opts.budgetMs ?? 5000;
  const t0 = performance.now();
  const trials: Trial[] = [];
  do trials.push(await trial());
  while (trials.length < maxRuns && performance.now() - t0 < budgetMs);
  const singleMs = Math.min(...trials.map((t) => t.singleMs));
  const strandMs = Math.min(...trials.map((t) => t.strandMs));
  const bad = trials.find((t) => !t.ok);
  const runs = trials.length === 1 ? "1 run" : `best of ${trials.length}`;
  const speedup = singleMs / strandMs;
  return {
    example: shape.example, size: shape.size, singleMs, strandMs, speedup,
    cores: shape.cores, efficiency: speedup / shape.cores, work: shape.work,
    ok: bad === undefined, detail: `${(bad ?? trials[trials.length - 1]!).detail}; ${runs}`,
  };
}

/** The worker threads of all live runners: how many calls run at once. */
export function totalThreads(cluster: Cluster): number {
  const t = cluster.runners.filter((r) => r.alive).reduce((s, r) => s + r.threads, 0);
  if (t === 0) throw new Error("the cluster has no live runners");
  return t;
}

/** Runs `f` and returns its result and wall time in milliseconds. */
export async function timed<T>(f: () => T | Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, performance.now() - t0];
}

/** True when the module with this import.meta.url is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(path.resolve(script)) === realpathSync(fileURLToPath(metaUrl));
  } catch {
    return false;
  }
}

/** `amount` of work per `ms`, per core, with 2-3 significant digits: "1.23 GFLOP/s". */
export function rate(work: Work | undefined, ms: number, cores = 1): string {
  if (work === undefined) return "-";
  const r = work.amount / (ms / 1000) / cores;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)} ${work.unit}/s`;
}

/**
 * Renders rows as an aligned text table. Rates are per core: the single process uses one,
 * the distributed run `cores` (its runner threads); efficiency = speedup / cores. A row
 * whose point is not speed prints what it shows (Row.shows) in the speedup column.
 */
export function formatTable(rows: readonly Row[]): string {
  const header = ["example", "size", "single-process ms", "Strand ms", "speedup", "cores", "efficiency",
    "1-process rate", "Strand rate/core", "check", "detail"];
  const body = rows.map((r) => [
    r.example, r.size, r.singleMs.toFixed(0), r.strandMs.toFixed(0), speedupCell(r), String(r.cores),
    r.shows === undefined ? `${(100 * r.efficiency).toFixed(0)}%` : "-", rate(r.work, r.singleMs), rate(r.work, r.strandMs, r.cores),
    r.ok ? "ok" : "MISMATCH", r.detail,
  ]);
  const right = [false, false, true, true, true, true, true, true, true, false, false];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** One line about the cluster: its runners and, per imported module, bundle size and first-call time. */
export function describeCluster(cluster: Cluster): string {
  const runners = cluster.runners.map((r) => `${r.address} (${r.threads} thread${r.threads === 1 ? "" : "s"}, pid ${r.pid})`).join(", ");
  const modules = cluster.stats.modules.map((m) => {
    const name = path.relative(process.cwd(), m.module) || m.module;
    const first = m.firstCallMs === undefined ? "not called" : `first call ${m.firstCallMs.toFixed(0)} ms`;
    return `${name}: bundle ${m.bundleBytes} B, built in ${m.buildMs.toFixed(0)} ms, ${first}`;
  }).join("; ");
  return `runners: ${runners}\nmodules: ${modules}`;
}

type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

// The bootstrap of runInWorker's thread: loads the module through tsx (so a .ts kernel
// loads whether or not this process runs under tsx; a .wasm it imports loads as bytes, as
// in a bundle), runs the warm-up call, then times one call.
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require("node:worker_threads");
(async () => {
  const { tsImport } = await import(w.tsxApi);
  (await tsImport(w.wasmImports, w.wasmImports)).registerWasmImports();
  const m = await tsImport(w.module, w.module);
  const f = m[w.exportName];
  if (typeof f !== "function") throw new TypeError(w.module + " has no function export " + w.exportName);
  // Warm-up calls for a quarter second: enough for V8 to optimize a JS kernel, and for a
  // Wasm kernel's hot functions to tier up from Liftoff (which runs a call to its end once started).
  if (w.warmArgs !== undefined) {
    const t = performance.now();
    do await f(...w.warmArgs);
    while (performance.now() - t < 250);
  }
  const t0 = performance.now();
  const value = await f(...w.args);
  const ms = performance.now() - t0;
  parentPort.postMessage({ value, ms });
})();
`;

/**
 * Calls `module`'s `exportName` export once on a fresh worker thread of this process and
 * times just that call: the single-process baseline. It does not run on the main thread
 * because a long synchronous computation there would stop this process from answering the
 * runners' heartbeats, and they drop a driver that stays silent for a few seconds.
 * `warmArgs`, if given, are used for untimed calls first, for a quarter second (JIT warm-up).
 */
export async function runInWorker<M, K extends keyof M & string>(
  module: URL, exportName: K, args: ArgsOf<M[K]>, warmArgs?: ArgsOf<M[K]>,
): Promise<[ResultOf<M[K]>, number]> {
  type T = ResultOf<M[K]>;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      tsxApi: import.meta.resolve("tsx/esm/api"), wasmImports: new URL("../src/driver/wasm-imports.ts", import.meta.url).href,
      module: module.href, exportName, args, warmArgs,
    },
  });
  try {
    return await new Promise<[T, number]>((resolve, reject) => {
      worker.once("message", (m: { value: T; ms: number }) => resolve([m.value, m.ms]));
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`baseline worker exited with code ${code} before answering`)));
    });
  } finally {
    await worker.terminate();
  }
}

const imported = new WeakMap<Cluster, Map<string, Promise<unknown>>>();

/**
 * Imports a module once per cluster and warms the runners up (code fetch, module load,
 * JIT) with `warm`, so that timings measure the work rather than the first call.
 */
export function importWarm<M>(cluster: Cluster, url: URL, warm: (remote: Remote<M>) => Promise<unknown>): Promise<Remote<M>> {
  let perCluster = imported.get(cluster);
  if (perCluster === undefined) imported.set(cluster, (perCluster = new Map()));
  let p = perCluster.get(url.href) as Promise<Remote<M>> | undefined;
  if (p === undefined) {
    p = (async () => {
      const remote = await cluster.import<M>(url);
      await Promise.all(Array.from({ length: 2 * totalThreads(cluster) }, () => warm(remote)));
      return remote;
    })();
    perCluster.set(url.href, p);
    p.catch(() => perCluster.delete(url.href));
  }
  return p;
}

/**
 * The command line of an example: positive integers as sizes (or the defaults), run on
 * `connect()` (a local cluster unless STRAND_RUNNERS is set), one table. Sets the exit code.
 */
export async function exampleMain(name: string, sizeName: string, defaults: readonly number[], run: (cluster: Cluster, size: number) => Promise<Row | Row[]>, before?: () => void): Promise<void> {
  try {
    const args = process.argv.slice(2);
    const bad = args.find((a) => !/^[1-9]\d*$/.test(a));
    if (bad !== undefined) {
      console.error(`usage: ${name}/main.ts [${sizeName} ...]   (${sizeName}: a positive integer, got "${bad}")`);
      process.exitCode = 2;
      return;
    }
    const sizes = args.length === 0 ? [...defaults] : args.map(Number);
    before?.(); // fail before starting a cluster if an input is missing
    await using cluster = await connect();
    console.log(`${name} on ${cluster.runners.length} runners, ${totalThreads(cluster)} threads`);
    const rows: Row[] = [];
    for (const size of sizes) rows.push(...[await run(cluster, size)].flat());
    console.log(formatTable(rows));
    console.log(describeCluster(cluster));
    process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
