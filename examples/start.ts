// `npm start`: one run of every example on a local 2-runner cluster, as one table. Each
// compute row runs its fastest kernel (Wasm where the example has one) at a size where
// distributing pays, and compares the same kernel in one process with Strand on the 2
// runners: param-server (an actor), sort (an SPMD job, one rank per runner thread), workers
// (a goroutine pool over channels, 4 jobs a message, and plain calls), matmul and wordcount
// (calls on Refs put into the cluster beforehand), pi and heat (SPMD jobs). The pipeline's point is not speed but what
// a value handed between goroutines in different processes costs: its row shows that latency.
// The examples' own commands (e.g. `npx tsx examples/matmul/main.ts`) run more sizes and both kernels.
// Exits non-zero if any distributed result differs from its single-process result.
// `npm start -- heat sort --repeat 3` runs only those rows, three times over on the same runners, and prints
// each row's spread: on a shared VM one run of a row says little.
import { local } from "../src/index.ts";
import { describeCluster, formatTable, speedupCell, totalThreads, type Row } from "./common.ts";
import { HEAT_START, HEAT_START_STEPS, runHeat } from "./heat/main.ts";
import { MATMUL_START, runMatmul } from "./matmul/main.ts";
import { PARAM_START, PARAM_START_LOCAL_STEPS, PARAM_START_STEPS, runParamServer } from "./param-server/main.ts";
import { PI_START, runPi } from "./pi/main.ts";
import { PIPELINE_PRIMES, runPipeline } from "./pipeline/main.ts";
import { runSort, SORT_START } from "./sort/main.ts";
import { runWorkers, WORKER_START_BATCH, WORKER_START_JOBS, WORKER_START_ROUNDS } from "./workers/main.ts";
import { readMobyDick, runWordcount, WORDCOUNT_START } from "./wordcount/main.ts";

/** Issue 19: every compute row of this table shows at least this speedup on a quiet 2-core machine. */
const TARGET_SPEEDUP = 1.5;

/**
 * The rows by name, in the table's order: `npm start -- heat sort` runs only those. The rows
 * whose kernels are JS run before any Wasm kernel has run on the runners' threads: JS
 * floating-point code on a thread that has run a tiered-up Wasm SIMD kernel ran 25-40% slower
 * for the rest of the thread's life (measured in plain Node, no Strand: the parameter server's
 * gradient loop, 660 ms of CPU before heat's Wasm kernel ran on the same thread, 830-860 ms
 * after, and unchanged when the kernel ran on another thread; docs/decisions.md). The
 * baseline runs on a fresh thread every trial, so after the Wasm rows the parameter server's
 * ranks started behind it (1.68-1.76x before heat, 1.27-1.38x after, same run).
 */
const ROWS: Record<string, (cluster: Awaited<ReturnType<typeof local>>) => Promise<Row | Row[]>> = {
  "param-server": (c) => runParamServer(c, PARAM_START, { steps: PARAM_START_STEPS, localSteps: PARAM_START_LOCAL_STEPS }),
  sort: (c) => runSort(c, SORT_START),
  workers: (c) => runWorkers(c, WORKER_START_JOBS, { rounds: WORKER_START_ROUNDS, batch: WORKER_START_BATCH }),
  matmul: (c) => runMatmul(c, MATMUL_START, {}, "wasm"),
  wordcount: (c) => runWordcount(c, WORDCOUNT_START, {}, "wasm"),
  pi: (c) => runPi(c, PI_START, { kernel: "wasm" }),
  heat: (c) => runHeat(c, HEAT_START, { steps: HEAT_START_STEPS, kernel: "wasm" }),
  pipeline: async (c) => { const out: Row[] = []; for (const n of PIPELINE_PRIMES) out.push(await runPipeline(c, n)); return out; },
};

/** The command line: row names (default all) and `--repeat N` (the selected rows N times over, on the same cluster). */
function parseArgs(args: readonly string[]): { names: string[]; repeat: number } | string {
  const names: string[] = [];
  let repeat = 1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--repeat") {
      repeat = Number(args[++i]);
      if (!Number.isInteger(repeat) || repeat < 1) return `--repeat needs a positive integer, got "${args[i] ?? ""}"`;
    } else if (a in ROWS) names.push(a);
    else return `unknown row "${a}" (rows: ${Object.keys(ROWS).join(", ")})`;
  }
  return { names: names.length === 0 ? Object.keys(ROWS) : names, repeat };
}

async function start(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === "string") {
    console.error(`usage: npm start -- [row ...] [--repeat N]: ${parsed}`);
    return 2;
  }
  try {
    if (parsed.names.includes("wordcount")) readMobyDick(); // fail before starting runners if the input is missing
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  const t0 = performance.now();
  await using cluster = await local({ runners: 2 });
  console.log(`Strand examples on a local cluster: ${cluster.runners.length} runners, ${totalThreads(cluster)} threads in all\n`);
  const rows: Row[] = [];
  const add = (r: Row): void => {
    rows.push(r);
    const what = r.shows ?? `${speedupCell(r)} on ${r.cores} cores, efficiency ${(100 * r.efficiency).toFixed(0)}%`;
    console.log(`  ${r.example} ${r.size}: ${r.singleMs.toFixed(0)} ms single-process, ${r.strandMs.toFixed(0)} ms on Strand (${what})${r.ok ? "" : "  MISMATCH"}`);
  };
  for (let rep = 0; rep < parsed.repeat; rep++) {
    for (const name of parsed.names) {
      const got = await ROWS[name]!(cluster);
      for (const r of Array.isArray(got) ? got : [got]) add(r);
    }
  }
  console.log(`\n${formatTable(rows)}\n`);
  console.log(describeCluster(cluster));
  // Issue 19's target for this table: every compute row (not the latency rows) at >= 1.5x on the 2 cores.
  const compute = rows.filter((r) => r.shows === undefined);
  if (parsed.repeat > 1) {
    const spread = new Map<string, number[]>();
    for (const r of compute) spread.set(`${r.example} ${r.size}`, [...(spread.get(`${r.example} ${r.size}`) ?? []), r.speedup]);
    console.log(`\nspread over ${parsed.repeat} repeats:`);
    for (const [k, v] of spread) console.log(`  ${k}: ${v.map((x) => `${x.toFixed(2)}x`).join(" ")} (min ${Math.min(...v).toFixed(2)}x, max ${Math.max(...v).toFixed(2)}x)`);
  }
  const short = compute.filter((r) => r.speedup < TARGET_SPEEDUP);
  console.log(`\ntarget: every compute row >= ${TARGET_SPEEDUP.toFixed(2)}x: ${short.length === 0 ? `met (${compute.length} rows, lowest ${Math.min(...compute.map((r) => r.speedup)).toFixed(2)}x)` : `MISSED by ${short.map((r) => `${r.example} ${speedupCell(r)}`).join(", ")}`}`);
  const failed = rows.filter((r) => !r.ok);
  console.log(`\n${failed.length === 0 ? "all results match" : `${failed.length} MISMATCH(ES)`}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return failed.length === 0 ? 0 : 1;
}

try {
  process.exitCode = await start();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
}
