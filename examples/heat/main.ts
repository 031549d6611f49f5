// The 1-D heat equation as an SPMD job (a stencil with halo exchange), on Strand.
//
// n grid points, explicit steps u'[i] = u[i] + R (u[i-1] - 2 u[i] + u[i+1]) with the two
// ends held fixed. The grid is cut into one contiguous block per rank, with a halo 200 cells
// deep on each side; every 200 steps each rank swaps 200 edge values with each neighbour
// (`sendrecv`) and then steps on its own (ranks.ts says how), and at the end rank 0 `gather`s
// the blocks. Every point is computed by the same kernel with the same operands in the same
// order as in the single-process run, so the fields must be equal bit for bit (checked; the
// example accepts up to 1e-12). A message round costs the same whatever the block's size, so
// the rounds are few and the blocks large.
//
// Each size runs twice: with the JS kernel (kernel.ts, a sweep of the field per step) and
// with the Wasm one (kernel-wasm.ts: stencil.c in SIMD, the steps between two exchanges run
// tile by tile in cache), whose field must equal the JS kernel's bit for bit. `npm start`
// runs the Wasm kernel at HEAT_START x HEAT_START_STEPS.
//
//   npx tsx examples/heat/main.ts [n ...]          (n grid points; default 1000000 4000000, 200 steps)
//   npx strand run examples/heat/main.ts --runners a:7700,b:7700 --token t -- 4000000
import type { Cluster, Remote } from "../../src/index.ts";
import { exampleMain, importWarm, isMain, repeatTrials, runInWorker, timed, totalThreads, type RepeatOptions, type Row } from "../common.ts";
import type { HeatKernel } from "./ranks.ts";

export type { HeatKernel } from "./ranks.ts";
type Kernel = typeof import("./kernel.ts");
type Ranks = typeof import("./ranks.ts");
/** The baseline's kernel modules: heatSingle in JS, and with its loops in Wasm. */
const KERNELS: Record<HeatKernel, URL> = {
  js: new URL("./kernel.ts", import.meta.url),
  wasm: new URL("./kernel-wasm.ts", import.meta.url),
};
const RANKS = new URL("./ranks.ts", import.meta.url);

export const HEAT_POINTS = [1_000_000, 4_000_000] as const;
export const HEAT_STEPS = 200;
/**
 * The size `npm start` runs, with the Wasm kernel: 1M points for 4,000 steps, ~2 s in one
 * process (~2 Gcell/s). The JS kernel sweeps the field through memory once a step, and two
 * JS ranks ran at ~64% of one process's rate each whatever the size (memory shared by the
 * 2 cores); the Wasm kernel runs the 200 steps between two exchanges tile by tile in cache.
 * A message round and the field's return cost the same whatever the kernel's speed, so the
 * run is long enough for them (20 rounds, 8 MB back) to be a small share. (At 3,000 steps
 * three trials fit npm start's 5 s budget per row, at 4,000 two: the same time in all.)
 */
export const HEAT_START = 1_000_000;
export const HEAT_START_STEPS = 4_000;
/** The largest difference from the single-process field that still counts as equal. */
export const HEAT_TOLERANCE = 1e-12;

const ranksOn = (cluster: Cluster): Promise<Remote<Ranks>> => {
  let job: Promise<unknown> | undefined;
  // importWarm warms once per thread, concurrently; jobs with a rank on every thread do that.
  // The Wasm kernel tiers up from Liftoff between calls, never within one: a quarter second
  // of small jobs first, as the baseline's worker gets (runInWorker).
  return importWarm<Ranks>(cluster, RANKS, (m) => (job ??= (async () => {
    const threads = totalThreads(cluster);
    await cluster.spmd(threads, m.heat, 10_000, 20, "js");
    const t0 = performance.now();
    do await cluster.spmd(threads, m.heat, 20_000, 400, "wasm");
    while (performance.now() - t0 < 250);
  })()));
};

/** The largest |a[i] - b[i]| (NaN and a length mismatch count as Infinity), and whether a and b are bit-identical. */
export function compareFields(a: Float64Array, b: Float64Array): { maxDiff: number; identical: boolean } {
  if (a.length !== b.length) return { maxDiff: Infinity, identical: false };
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
  }
  const identical = Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return { maxDiff, identical };
}

/**
 * `opts.steps` (default HEAT_STEPS) steps of an n-point grid on `opts.ranks` ranks (default:
 * one per runner thread) and in this process; checks that the fields agree within HEAT_TOLERANCE.
 */
export async function runHeat(cluster: Cluster, n: number, opts: RepeatOptions & { ranks?: number; steps?: number; kernel?: HeatKernel } = {}): Promise<Row> {
  if (!Number.isInteger(n) || n < 3) throw new RangeError(`the grid needs a whole number >= 3 of points, got ${n}`);
  const m = await ranksOn(cluster);
  const cores = totalThreads(cluster);
  const ranks = opts.ranks ?? cores;
  const steps = opts.steps ?? HEAT_STEPS;
  const kernel = opts.kernel ?? "js";
  const shape = { example: kernel === "js" ? "heat" : "heat (wasm)", size: `n=${n} x ${steps} steps, ${ranks} ranks`, cores, work: { amount: (n * steps) / 1e6, unit: "Mcell" } };

  // The Wasm kernel's field lives in its linear memory, which grows to the field's size on
  // first use and stays (a rank thread keeps its instance from job to job): both sides warm
  // up at the full size, so that neither pays the growth and its page faults in the timed run.
  const warm: [number, number] = kernel === "js" ? [10_000, 20] : [n, 1];
  if (kernel === "wasm") await cluster.spmd(ranks, m.heat, n, 1, kernel);
  return repeatTrials(shape, opts, async () => {
    const [single, singleMs] = await runInWorker<Kernel, "heatSingle">(KERNELS[kernel], "heatSingle", [n, steps], warm);
    const [fields, strandMs] = await timed(() => cluster.spmd(ranks, m.heat, n, steps, kernel));
    const field = fields[0];
    if (field === undefined) return { singleMs, strandMs, ok: false, detail: "rank 0 returned no field" };
    const { maxDiff, identical } = compareFields(field, single);
    const others = fields.slice(1).every((f) => f === undefined);
    const ok = maxDiff <= HEAT_TOLERANCE && others;
    const sum = field.reduce((s, x) => s + x, 0);
    return {
      singleMs, strandMs, ok,
      detail: `sum ${sum.toFixed(6)}, middle ${field[n >> 1]!.toFixed(6)}; max |diff| ${maxDiff}${identical ? " (bit-identical)" : ""}${others ? "" : "; RANKS > 0 RETURNED A FIELD"}`,
    };
  });
}

/** Both kernels at n points: the JS row, then the Wasm row. */
export async function runHeatBoth(cluster: Cluster, n: number): Promise<Row[]> {
  return [await runHeat(cluster, n), await runHeat(cluster, n, { kernel: "wasm" })];
}

if (isMain(import.meta.url)) await exampleMain("heat", "n", HEAT_POINTS, runHeatBoth);
