// A worker pool over channels, against the same jobs as plain remote calls.
//
// n jobs of ~1 ms of CPU each. Pool: 4 goroutines per runner thread (`m.worker.go(jobs,
// results)`) take jobs from a buffered channel and send results on another; the driver
// feeds jobs and collects results in one `select` loop, Go's way, and closes `jobs` after
// the last one. A message carries a batch of jobs (one by default; `npm start` sends 4 a
// message, so the channels' home, the driver, handles a quarter of the messages). Calls: `Promise.all(jobs.map((j) => m.work(j)))`, the scheduler keeping
// each runner's threads busy. The baseline runs every job in one thread of this process.
// All three must give the same value for every job.
//
//   npx tsx examples/workers/main.ts [n ...]           (n jobs; default 2000)
//   npx strand run examples/workers/main.ts --runners a:7700,b:7700 --token t -- 5000
import { connect, select, type Cluster, type Remote, type SelectCase } from "../../src/index.ts";
import {
  describeCluster, formatTable, importWarm, isMain, repeatTrials, runInWorker, timed, totalThreads, type RepeatOptions, type Row,
} from "../common.ts";
import type { Job, Result } from "./work.ts";

type Work = typeof import("./work.ts");
const WORK = new URL("./work.ts", import.meta.url);

export const WORKER_JOBS = [2000] as const;

/** xorshift rounds per job: about 1 ms here (the table prints the measured mean). */
export const ROUNDS = 600_000;
/**
 * What `npm start` runs: 500 jobs of ~4 ms, the same 2 s of work as the default 2,000 of
 * ~1 ms. Each job costs the pool two channel operations and a call one round trip, whatever
 * its length, paid in part on the CPUs the jobs want: with 1 ms jobs the pool and the calls
 * reached 1.64x and 1.57x on 2 cores (docs/benchmarks.md), with 4 ms jobs that cost is a
 * quarter as large a share.
 */
export const WORKER_START_JOBS = 500;
export const WORKER_START_ROUNDS = 4 * ROUNDS;
/**
 * Jobs per channel message in `npm start`'s pool: 4 (125 messages each way of ~16 ms of
 * work). One job a message cost the driver, which hosts both channels, ~0.36 ms of CPU per
 * job against ~0.2 ms for a plain call (500 jobs: 175-185 ms against 100-125 ms, measured
 * at load 13-17 in a high-priority session), on the same 2 cores the jobs run on; the quiet
 * run at 696314e had the pool at 1.41x and the calls at 1.63x. Feeding the jobs from a loop
 * of its own and collecting from another instead of one select loop changed nothing (175-184
 * ms). The command's default stays at one job a message.
 */
export const WORKER_START_BATCH = 4;
/**
 * Pool goroutines per runner thread: while one computes, the others' channel operations
 * (a round trip to the driver each, ~2 per job) are under way. On 2 runners x 1 thread
 * with 1 ms jobs, 2 per thread took 1.5-2.2 s for 2,000 jobs, 4 or 8 per thread 1.4-1.6 s.
 */
export const WORKERS_PER_THREAD = 4;
/** Capacity of the jobs and results channels. */
export const CAPACITY = 64;

export function makeJobs(n: number, rounds = ROUNDS): Job[] {
  return Array.from({ length: n }, (_, id) => ({ id, seed: (id * 2654435761) >>> 0, rounds }));
}

/**
 * The pool: `workers` goroutines on the cluster, jobs fed and results collected by this
 * driver in one select loop. Returns every job's value (by id) and how many jobs each
 * runner process did. If a worker fails, a `quit` channel closes (Go's way of stopping a
 * select) and the worker's error is thrown.
 */
export async function poolOverChannels(cluster: Cluster, m: Remote<Work>, list: readonly Job[], workers: number, batch = 1): Promise<{ values: number[]; byPid: Map<number, number> }> {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`jobs per message must be a positive integer, got ${batch}`);
  const jobs = cluster.chan<Job[]>(CAPACITY);
  const results = cluster.chan<Result[]>(CAPACITY);
  const quit = cluster.chan<never>();
  let failure: Error | undefined;
  const pool = Array.from({ length: workers }, () => m.worker.go(jobs, results));
  for (const g of pool) {
    g.result.catch((err: Error) => {
      if (failure !== undefined) return;
      failure = err;
      void quit.close();
    });
  }

  const values = new Array<number>(list.length);
  let next = 0;
  let got = 0;
  while (got < list.length) {
    const cases: SelectCase[] = [{ recv: quit }, { recv: results }];
    if (next < list.length) cases.push({ send: jobs, value: list.slice(next, next + batch) });
    const s = await select(cases);
    if (s.index === 0) throw failure!;
    if (s.index === 2) {
      next = Math.min(next + batch, list.length);
      if (next === list.length) await jobs.close(); // the workers drain it and return
    } else {
      for (const [id, value] of s.value as Result[]) {
        values[id] = value;
        got++;
      }
    }
  }
  const byPid = new Map<number, number>();
  for (const { done, pid } of await Promise.all(pool.map((g) => g.result))) byPid.set(pid, (byPid.get(pid) ?? 0) + done);
  return { values, byPid };
}

/** The same jobs as plain remote calls, all at once. */
export function plainCalls(m: Remote<Work>, list: readonly Job[]): Promise<number[]> {
  return Promise.all(list.map((j) => m.work(j)));
}

const workOn = (cluster: Cluster): Promise<Remote<Work>> =>
  importWarm<Work>(cluster, WORK, async (m) => {
    const few = makeJobs(8);
    await plainCalls(m, few);
    await poolOverChannels(cluster, m, few, 2);
  });

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * n jobs in one thread of this process, through the pool over channels, and as plain calls;
 * checks that all three agree. Two rows: the pool and the calls, each against the same
 * single-process time. Repeats while `opts` allow and reports the best times.
 */
export async function runWorkers(cluster: Cluster, n: number, opts: RepeatOptions & { rounds?: number; batch?: number } = {}): Promise<Row[]> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`the number of jobs must be a positive integer, got ${n}`);
  const m = await workOn(cluster);
  const list = makeJobs(n, opts.rounds ?? ROUNDS);
  const cores = totalThreads(cluster);
  const workers = WORKERS_PER_THREAD * cores;
  const batch = opts.batch ?? 1;
  const work = { amount: n / 1000, unit: "kjob" };
  const calls: { ms: number; ok: boolean }[] = [];

  const size = batch === 1 ? `${n} jobs, channels` : `${n} jobs, channels, ${batch} a message`;
  const poolRow = await repeatTrials({ example: "workers", size, cores, work }, opts, async () => {
    const [single, singleMs] = await runInWorker<Work, "workAll">(WORK, "workAll", [list], [list.slice(0, 50)]);
    const [pool, strandMs] = await timed(() => poolOverChannels(cluster, m, list, workers, batch));
    const [viaCalls, callsMs] = await timed(() => plainCalls(m, list));
    calls.push({ ms: callsMs, ok: same(viaCalls, single) });
    const ok = same(pool.values, single);
    const perRunner = cluster.runners.map((r) => pool.byPid.get(r.pid) ?? 0).join("+");
    return {
      singleMs, strandMs, ok,
      detail: `${ok ? "every value equal" : "VALUES DIFFER"}, ${(singleMs / n).toFixed(2)} ms/job in-process; ${workers} workers, jobs per runner ${perRunner}`,
    };
  });
  const callsMs = Math.min(...calls.map((c) => c.ms));
  const callsOk = calls.every((c) => c.ok);
  const speedup = poolRow.singleMs / callsMs;
  const runs = calls.length === 1 ? "1 run" : `best of ${calls.length}`;
  const callsRow: Row = {
    ...poolRow, size: `${n} jobs, calls`, strandMs: callsMs, speedup, efficiency: speedup / cores, ok: callsOk,
    detail: `${callsOk ? "every value equal" : "VALUES DIFFER"}; Promise.all of ${n} calls; ${runs}`,
  };
  return [poolRow, callsRow];
}

/** The command line: exampleMain's, but with two rows (pool, calls) per size. */
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const bad = args.find((a) => !/^[1-9]\d*$/.test(a));
  if (bad !== undefined) {
    console.error(`usage: workers/main.ts [n ...]   (n: a positive number of jobs, got "${bad}")`);
    return 2;
  }
  await using cluster = await connect();
  console.log(`workers on ${cluster.runners.length} runners, ${totalThreads(cluster)} threads`);
  const rows: Row[] = [];
  for (const n of args.length === 0 ? WORKER_JOBS : args.map(Number)) rows.push(...(await runWorkers(cluster, n)));
  console.log(formatTable(rows));
  console.log(describeCluster(cluster));
  return rows.every((r) => r.ok) ? 0 : 1;
}

if (isMain(import.meta.url)) {
  try {
    process.exitCode = await main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
