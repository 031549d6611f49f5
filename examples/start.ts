// `npm start`: the examples at every size on a local 2-runner cluster, as one table: matmul
// and wordcount (calls and Refs; each with its JS kernel and its Wasm kernel), pipeline and workers (goroutines and channels), then pi,
// heat and sort (SPMD jobs, one rank per runner thread) at one size each, and param-server (an actor).
// Exits non-zero if any distributed result differs from its single-process result.
import { local } from "../src/index.ts";
import { describeCluster, formatTable, totalThreads, type Row } from "./common.ts";
import { HEAT_START, runHeat } from "./heat/main.ts";
import { PARAM_ROWS, runParamServer } from "./param-server/main.ts";
import { MATMUL_SIZES, runMatmulBoth } from "./matmul/main.ts";
import { PI_START, runPi } from "./pi/main.ts";
import { PIPELINE_PRIMES, runPipeline } from "./pipeline/main.ts";
import { runSort, SORT_START } from "./sort/main.ts";
import { runWorkers, WORKER_JOBS } from "./workers/main.ts";
import { readMobyDick, runWordcountBoth, WORDCOUNT_REPEATS } from "./wordcount/main.ts";

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
    console.log(`  ${r.example} ${r.size}: ${r.singleMs.toFixed(0)} ms single-process, ${r.strandMs.toFixed(0)} ms on Strand (${r.cores} cores, efficiency ${(100 * r.efficiency).toFixed(0)}%)${r.ok ? "" : "  MISMATCH"}`);
  };
  // Each size with the JS kernel, then with the Wasm one (C compiled to .wasm, checked against JS).
  for (const n of MATMUL_SIZES) for (const r of await runMatmulBoth(cluster, n)) add(r);
  for (const k of WORDCOUNT_REPEATS) for (const r of await runWordcountBoth(cluster, k)) add(r);
  for (const n of PIPELINE_PRIMES) add(await runPipeline(cluster, n));
  for (const n of WORKER_JOBS) for (const r of await runWorkers(cluster, n)) add(r);
  add(await runPi(cluster, PI_START));
  add(await runHeat(cluster, HEAT_START));
  add(await runSort(cluster, SORT_START));
  for (const n of PARAM_ROWS) add(await runParamServer(cluster, n));
  console.log(`\n${formatTable(rows)}\n`);
  console.log(describeCluster(cluster));
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
