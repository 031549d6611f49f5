// Gluster's matrix-multiply benchmark, in TypeScript on Strand.
//
// C = A * B for n x n Float64 matrices. B goes to the cluster once (`cluster.put`): one
// runner stores it, every other runner fetches it from that one the first time a task
// there needs it, and all tasks on a runner read the same copy. A's rows are split into 4
// blocks per runner thread; each task gets its block of A and the Ref to B and returns its
// rows of C. The same kernel, called in this process on all of A, is the single-process
// baseline (run on a worker thread of this process, so that the driver keeps answering
// heartbeats), and the distributed C must equal it exactly.
//
// Each size runs twice: with the JS kernel (kernel.ts) and with the Wasm one (kernel-wasm.ts,
// matmul.c compiled to matmul.wasm), whose C must equal the JS kernel's bit for bit.
//
//   npx tsx examples/matmul/main.ts [n ...]          (default: 512 1024 2048; 4096 works, ~4 min)
//   npx strand run examples/matmul/main.ts --runners a:7700,b:7700 --token t -- 1024
import type { Cluster, Remote } from "../../src/index.ts";
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

/** Blocks of A's rows per runner thread: enough to even out uneven runners. */
const BLOCKS_PER_THREAD = 4;

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

/**
 * Multiplies two random n x n matrices in this process and on the cluster, and checks that
 * the results are equal. Repeats while `opts` allow and reports the best times. With the
 * wasm kernel, both runs use it and the result must also equal the JS kernel's bit for bit
 * (computed once per size, untimed, unless the JS row of the same size just ran).
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
  let reference: Float64Array | undefined;
  if (kernel === "wasm") {
    reference = jsResult?.n === n ? jsResult.C : (await runInWorker<Kernel, "multiplyRows">(KERNELS.js, "multiplyRows", [A, B, n]))[0];
  }

  return repeatTrials(shape, opts, async () => {
    // The baseline: the same kernel on all of A, on one thread of this process.
    const [single, singleMs] = await runInWorker<Kernel, "multiplyRows">(url, "multiplyRows", [A, B, n], [warmup, warmup, 64]);
    if (kernel === "js") jsResult = { n, C: single };

    const before = await traffic(cluster);
    const [C, strandMs] = await timed(async () => {
      // B is sent once; the tasks carry only a Ref to it (the put is part of the timed run).
      const refB = await cluster.put(B);
      try {
        const out = new Float64Array(n * n);
        await Promise.all(ranges(n, BLOCKS_PER_THREAD * cores).map(async ([from, to]) => {
          // subarray: only the block's bytes are sent, without copying A.
          const rows = await remote.multiplyRows(A.subarray(from * n, to * n), refB, n);
          out.set(rows, from * n);
        }));
        return out;
      } finally {
        refB.release(); // frees B on every runner that holds a copy
      }
    });
    const after = await traffic(cluster);

    const maxDiff = maxAbsDiff(C, single);
    const jsDiff = reference === undefined ? 0 : maxAbsDiff(single, reference);
    const fetches = after.fetches - before.fetches;
    const moved = `driver sent ${mb(after.sent - before.sent)} (B ${mb(B.byteLength)}), ${fetches} runner-to-runner fetch${fetches === 1 ? "" : "es"} (${mb(after.fetched - before.fetched)})`;
    const vsJs = reference === undefined ? "" : `; max |diff| to the JS kernel ${jsDiff}`;
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
