// Gluster's matrix-multiply benchmark, in TypeScript on Strand.
//
// C = A * B for n x n Float64 matrices. The matrices go into the cluster once, before the
// clock starts (as the single process has them in its memory before its clock starts): A's
// rows as blocks, 2 per runner thread, spread over the runners with `cluster.put`, and B to
// every runner with `cluster.broadcast`. Each task gets the Ref of its block of A and the
// Ref to B, runs on the runner that holds its block, and returns its rows of C: only C
// travels. The same kernel, called in this process on all of A, is the single-process
// baseline (run on a worker thread of this process, so that the driver keeps answering
// heartbeats), and the distributed C must equal it exactly.
//
// Each size runs twice: with the JS kernel (kernel.ts) and with the Wasm one (kernel-wasm.ts,
// matmul.c compiled to matmul.wasm), whose C must equal the JS kernel's bit for bit.
// `npm start` runs the Wasm kernel at MATMUL_START.
//
//   npx tsx examples/matmul/main.ts [n ...]          (default: 512 1024 2048; 4096 works, ~4 min)
//   npx strand run examples/matmul/main.ts --runners a:7700,b:7700 --token t -- 1024
import type { Cluster, Ref, Remote } from "../../src/index.ts";
import {
  exampleMain, importWarm, isMain, repeatTrials, runInWorker, timed, totalThreads, type RepeatOptions, type Row,
} from "../common.ts";
import { randomMatrix } from "./kernel.ts";

type Kernel = typeof import("./kernel.ts");
/** The kernels: kernel.ts in JS, kernel-wasm.ts the same function with its loops in C (matmul.wasm). */
export type MatmulKernel = "js" | "wasm";
const KERNELS: Record<MatmulKernel, URL> = {
  js: new URL("./kernel.ts", import.meta.url),
  wasm: new URL("./kernel-wasm.ts", import.meta.url),
};

/** The JS kernel's single-process C of the last size run: the wasm rows are checked against it. */
let jsResult: { n: number; C: Float64Array } | undefined;

export const MATMUL_SIZES = [512, 1024, 2048] as const;
/**
 * The size `npm start` runs, with the Wasm kernel: ~3 s in one process on a quiet 2-core VM,
 * large enough that the runners' compute dwarfs what a run moves (C's rows back, the tasks'
 * copies of B into linear memory): at n = 1024 the Wasm kernel takes ~0.1 s and the fixed
 * costs of a distributed run are a third of it.
 */
export const MATMUL_START = 3072;

/**
 * Blocks of A's rows per runner thread. Each task copies all of B into its kernel's memory,
 * so fewer blocks copy B fewer times; two let a runner start sending one block's rows of C
 * while it computes the next.
 */
const BLOCKS_PER_THREAD = 2;

/** Rows of C the Wasm rows recompute with the JS kernel when the JS row of the same size did not run. */
const JS_CHECK_ROWS = 8;

const warmup = randomMatrix(64, 3);
/** Warms up both paths a task takes: B as a plain argument and B as a Ref (stored, maybe fetched from the other runner). */
const kernelOn = (cluster: Cluster, kernel: MatmulKernel): Promise<Remote<Kernel>> =>
  importWarm<Kernel>(cluster, KERNELS[kernel], async (k) => {
    await k.multiplyRows(warmup, warmup, 64);
    const refB = await cluster.put(warmup);
    try {
      await Promise.all([k.multiplyRows(warmup, refB, 64), k.multiplyRows(warmup, refB, 64)]);
    } finally {
      refB.release();
    }
  });

/** Splits 0..rows into `parts` contiguous ranges of nearly equal size (none empty). */
function ranges(rows: number, parts: number): [number, number][] {
  const p = Math.max(1, Math.min(parts, rows));
  return Array.from({ length: p }, (_, i): [number, number] => [Math.floor((i * rows) / p), Math.floor(((i + 1) * rows) / p)]);
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

/** Bytes this driver has sent to the runners so far, and the runners' runner-to-runner fetches. */
async function traffic(cluster: Cluster): Promise<{ sent: number; fetches: number; fetched: number }> {
  const stats = await cluster.runnerStats();
  return {
    sent: cluster.runners.reduce((s, r) => s + r.bytesSent, 0),
    fetches: stats.reduce((s, r) => s + r.objectFetches, 0),
    fetched: stats.reduce((s, r) => s + r.objectBytesFetched, 0),
  };
}

/** The inputs as the cluster holds them: B on every runner, A's row blocks spread over the runners. */
interface Inputs extends Disposable {
  B: Ref<Float64Array>;
  blocks: { from: number; A: Ref<Float64Array> }[];
}

/**
 * Puts the matrices into the cluster: A's blocks one after another (each put goes to the
 * runner holding the fewest bytes so far, so they alternate), then B to every runner
 * (`broadcast`: one send from the driver, the other copies runner to runner). A task on a
 * block then runs where the block is and finds B there: nothing moves but C.
 */
async function putInputs(cluster: Cluster, A: Float64Array, B: Float64Array, n: number): Promise<Inputs> {
  const blocks: Inputs["blocks"] = [];
  const release = (): void => {
    for (const b of blocks) b.A.release();
  };
  try {
    // subarray: only the block's bytes are sent, without copying A.
    for (const [from, to] of ranges(n, BLOCKS_PER_THREAD * totalThreads(cluster))) blocks.push({ from, A: await cluster.put(A.subarray(from * n, to * n)) });
    const refB = await cluster.broadcast(B);
    return { B: refB, blocks, [Symbol.dispose]: () => { release(); refB.release(); } };
  } catch (err) {
    release();
    throw err;
  }
}

/** Up to k row indices of 0..n-1, evenly spaced, first and last included. */
function sampleRows(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1)));
}

/**
 * The JS kernel's rows of C to check a Wasm row against: all of C if the JS row of this size
 * just ran, else `rows` of it recomputed here (the JS kernel at large n takes minutes).
 */
async function jsReference(A: Float64Array, B: Float64Array, n: number): Promise<{ rows: number[]; C: Float64Array }> {
  if (jsResult?.n === n) return { rows: Array.from({ length: n }, (_, i) => i), C: jsResult.C };
  const rows = sampleRows(n, JS_CHECK_ROWS);
  const aRows = new Float64Array(rows.length * n);
  rows.forEach((r, i) => aRows.set(A.subarray(r * n, (r + 1) * n), i * n));
  const [C] = await runInWorker<Kernel, "multiplyRows">(KERNELS.js, "multiplyRows", [aRows, B, n]);
  return { rows, C };
}

/**
 * Multiplies two random n x n matrices in this process and on the cluster, and checks that
 * the results are equal. Repeats while `opts` allow and reports the best times. With the
 * wasm kernel, both runs use it and the result must also equal the JS kernel's bit for bit
 * (all of C if the JS row of the same size just ran, else some rows recomputed, untimed).
 *
 * Both clocks start with the inputs where the computation reads them: the baseline's in its
 * thread's memory, the cluster's in the runners' stores (put once beforehand; the detail
 * column gives the time the put took). Both stop with C in the caller's memory.
 */
export async function runMatmul(cluster: Cluster, n: number, opts: RepeatOptions = {}, kernel: MatmulKernel = "js"): Promise<Row> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`matrix size must be a positive integer, got ${n}`);
  const remote = await kernelOn(cluster, kernel);
  const url = KERNELS[kernel];
  const A = randomMatrix(n, 1);
  const B = randomMatrix(n, 2);
  const cores = totalThreads(cluster);
  const example = kernel === "js" ? "matmul" : "matmul (wasm)";
  const shape = { example, size: `n=${n}`, cores, work: { amount: (2 * n ** 3) / 1e9, unit: "GFLOP" } };
  const reference = kernel === "wasm" ? await jsReference(A, B, n) : undefined;

  const putStart = performance.now();
  using inputs = await putInputs(cluster, A, B, n); // at the end: frees A's blocks and B on every runner that holds a copy
  const putMs = performance.now() - putStart;
  return await repeatTrials(shape, opts, async () => {
    // The baseline: the same kernel on all of A, on one thread of this process.
    const [single, singleMs] = await runInWorker<Kernel, "multiplyRows">(url, "multiplyRows", [A, B, n], [warmup, warmup, 64]);
    if (kernel === "js") jsResult = { n, C: single };

    const before = await traffic(cluster);
    const [C, strandMs] = await timed(async () => {
      const out = new Float64Array(n * n);
      await Promise.all(inputs.blocks.map(async (b) => out.set(await remote.multiplyRows(b.A, inputs.B, n), b.from * n)));
      return out;
    });
    const after = await traffic(cluster);

    const maxDiff = maxAbsDiff(C, single);
    const jsDiff = reference === undefined ? 0 : Math.max(...reference.rows.map((r, i) => maxAbsDiff(single.subarray(r * n, (r + 1) * n), reference.C.subarray(i * n, (i + 1) * n))));
    const fetches = after.fetches - before.fetches;
    const moved = `inputs put beforehand in ${putMs.toFixed(0)} ms (A in ${inputs.blocks.length} blocks, B on every runner); `
      + `while timed the driver sent ${mb(after.sent - before.sent)}, ${fetches} runner-to-runner fetch${fetches === 1 ? "" : "es"}`;
    const vsJs = reference === undefined ? "" : `; max |diff| to the JS kernel ${jsDiff}${reference.rows.length === n ? "" : ` (${reference.rows.length} rows)`}`;
    return { singleMs, strandMs, ok: maxDiff === 0 && jsDiff === 0, detail: `max |diff| ${maxDiff}${vsJs}; ${moved}` };
  });
}

function maxAbsDiff(x: Float64Array, y: Float64Array): number {
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= max)) max = d; // NaN counts as a difference
  }
  return max;
}

/** Both kernels at size n: the JS row, then the Wasm row (checked against the JS row's result). */
export async function runMatmulBoth(cluster: Cluster, n: number, opts: RepeatOptions = {}): Promise<Row[]> {
  return [await runMatmul(cluster, n, opts, "js"), await runMatmul(cluster, n, opts, "wasm")];
}

if (isMain(import.meta.url)) await exampleMain("matmul", "n", MATMUL_SIZES, runMatmulBoth);
