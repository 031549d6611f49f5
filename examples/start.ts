// `npm start`: one run of every example on a local 2-runner cluster, as one table. Each
// compute row runs its fastest kernel (Wasm where the example has one) at a size where
// distributing pays, and compares the same kernel in one process with Strand on the 2
// runners: matmul and wordcount (calls on Refs put into the cluster beforehand), pi, heat
// and sort (SPMD jobs, one rank per runner thread), param-server (an actor), workers (a
// goroutine pool over channels, and plain calls). The pipeline's point is not speed but what
// a value handed between goroutines in different processes costs: its row shows that latency.
// The examples' own commands (e.g. `npx tsx examples/matmul/main.ts`) run more sizes and both kernels.
// Exits non-zero if any distributed result differs from its single-process result.
import { local } from "../src/index.ts";
import { describeCluster, formatTable, speedupCell, totalThreads, type Row } from "./common.ts";
import { HEAT_START, HEAT_START_STEPS, runHeat } from "./heat/main.ts";
import { MATMUL_START, runMatmul } from "./matmul/main.ts";
import { PARAM_START, PARAM_START_LOCAL_STEPS, PARAM_START_STEPS, runParamServer } from "./param-server/main.ts";
import { PI_START, runPi } from "./pi/main.ts";
import { PIPELINE_PRIMES, runPipeline } from "./pipeline/main.ts";
import { runSort, SORT_START } from "./sort/main.ts";
import { runWorkers, WORKER_START_JOBS, WORKER_START_ROUNDS } from "./workers/main.ts";
import { readMobyDick, runWordcount, WORDCOUNT_START } from "./wordcount/main.ts";

/** Issue 19: every compute row of this table shows at least this speedup on a quiet 2-core machine. */
const TARGET_SPEEDUP = 1.5;

async function start(): Promise<number> {
  try {
    readMobyDick(); // fail before starting runners if the input is missing
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
  add(await runMatmul(cluster, MATMUL_START, {}, "wasm"));
  add(await runWordcount(cluster, WORDCOUNT_START, {}, "wasm"));
  add(await runPi(cluster, PI_START, { kernel: "wasm" }));
  add(await runHeat(cluster, HEAT_START, { steps: HEAT_START_STEPS, kernel: "wasm" }));
  add(await runSort(cluster, SORT_START));
  add(await runParamServer(cluster, PARAM_START, { steps: PARAM_START_STEPS, localSteps: PARAM_START_LOCAL_STEPS }));
  for (const r of await runWorkers(cluster, WORKER_START_JOBS, { rounds: WORKER_START_ROUNDS })) add(r);
  for (const n of PIPELINE_PRIMES) add(await runPipeline(cluster, n));
  console.log(`\n${formatTable(rows)}\n`);
  console.log(describeCluster(cluster));
  // Issue 19's target for this table: every compute row (not the latency rows) at >= 1.5x on the 2 cores.
  const compute = rows.filter((r) => r.shows === undefined);
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
