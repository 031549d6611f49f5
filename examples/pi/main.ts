// Monte Carlo pi as an SPMD job (MPI's classic first program), on Strand.
//
// n points of the unit square, split over the ranks; each rank draws its share from its own
// seeded PRNG, counts the points inside the quarter circle, and `reduce(hits, "sum", 0)`
// gives rank 0 the total: pi ≈ 4 * hits / n. Because every rank's stream is fixed by its
// rank, the baseline (every rank's draws in one thread of this process) must give exactly
// the same count, and the estimate must lie within 5 standard errors of Math.PI.
//
// Each size runs twice: with the JS kernel (kernel.ts) and with the Wasm one (kernel-wasm.ts,
// pi.c compiled to pi.wasm: four points at a time in SIMD lanes), which counts the same hits.
// `npm start` runs the Wasm kernel at PI_START.
//
//   npx tsx examples/pi/main.ts [n ...]          (n points; default 10000000 100000000)
//   npx strand run examples/pi/main.ts --runners a:7700,b:7700 --token t -- 100000000
import type { Cluster, Remote } from "../../src/index.ts";
import { exampleMain, importWarm, isMain, repeatTrials, runInWorker, timed, totalThreads, type RepeatOptions, type Row } from "../common.ts";
import type { PiKernel } from "./ranks.ts";

export type { PiKernel } from "./ranks.ts";
type Kernel = typeof import("./kernel.ts");
type Ranks = typeof import("./ranks.ts");
/** The baseline's kernel modules: the same functions, in JS and with the loop in Wasm. */
const KERNELS: Record<PiKernel, URL> = {
  js: new URL("./kernel.ts", import.meta.url),
  wasm: new URL("./kernel-wasm.ts", import.meta.url),
};
const RANKS = new URL("./ranks.ts", import.meta.url);

export const PI_SAMPLES = [10_000_000, 100_000_000] as const;
/**
 * The size `npm start` runs, with the Wasm kernel: ~0.75 s in one process on a quiet 2-core
 * VM (~680 Mpoint/s), so that starting the ranks and the reduce (~25 ms) are a small share.
 */
export const PI_START = 500_000_000;

const ranksOn = (cluster: Cluster): Promise<Remote<Ranks>> => {
  let job: Promise<unknown> | undefined;
  // importWarm warms once per thread, concurrently; jobs with a rank on every thread do that.
  // The Wasm kernel's loop tiers up from Liftoff between calls, never within one: a quarter
  // second of small jobs first, as the baseline's worker gets (runInWorker).
  return importWarm<Ranks>(cluster, RANKS, (m) => (job ??= (async () => {
    const threads = totalThreads(cluster);
    await cluster.spmd(threads, m.estimate, 100_000, "js");
    const t0 = performance.now();
    do await cluster.spmd(threads, m.estimate, 1_000_000, "wasm");
    while (performance.now() - t0 < 250);
  })()));
};

/** How far 4 * hits / n may be from pi: 5 standard errors of the binomial estimate. */
export function piTolerance(n: number): number {
  const p = Math.PI / 4;
  return 5 * 4 * Math.sqrt((p * (1 - p)) / n);
}

/**
 * Estimates pi from n points on `opts.ranks` ranks (default: one per runner thread) and in
 * this process; checks that both counted the same hits and that the estimate is within
 * `piTolerance(n)` of Math.PI.
 */
export async function runPi(cluster: Cluster, n: number, opts: RepeatOptions & { ranks?: number; kernel?: PiKernel } = {}): Promise<Row> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`the number of points must be a positive integer, got ${n}`);
  const m = await ranksOn(cluster);
  const cores = totalThreads(cluster);
  const ranks = opts.ranks ?? cores;
  const kernel = opts.kernel ?? "js";
  const shape = { example: kernel === "js" ? "pi" : "pi (wasm)", size: `n=${n}, ${ranks} ranks`, cores, work: { amount: n / 1e6, unit: "Mpoint" } };

  return repeatTrials(shape, opts, async () => {
    const [single, singleMs] = await runInWorker<Kernel, "countAll">(KERNELS[kernel], "countAll", [n, ranks], [100_000, ranks]);
    const [results, strandMs] = await timed(() => cluster.spmd(ranks, m.estimate, n, kernel));
    const total = results[0]!.total;
    const perRank = results.reduce((s, r) => s + r.hits, 0);
    const pi = (4 * (total ?? NaN)) / n;
    const error = Math.abs(pi - Math.PI);
    const bound = piTolerance(n);
    const equal = total === single && perRank === single && results.slice(1).every((r) => r.total === undefined);
    const ok = equal && error <= bound;
    const hits = equal ? `hits ${single} equal` : `HITS DIFFER: reduce ${total}, ranks' own ${perRank}, single-process ${single}`;
    return { singleMs, strandMs, ok, detail: `pi ≈ ${pi.toFixed(6)}, |error| ${error.toExponential(1)} (bound ${bound.toExponential(1)}); ${hits}` };
  });
}

/** Both kernels at n points: the JS row, then the Wasm row. */
export async function runPiBoth(cluster: Cluster, n: number): Promise<Row[]> {
  return [await runPi(cluster, n), await runPi(cluster, n, { kernel: "wasm" })];
}

if (isMain(import.meta.url)) await exampleMain("pi", "n", PI_SAMPLES, runPiBoth);
