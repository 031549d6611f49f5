// Tiny-task throughput: N no-op calls through a local cluster of 2 runners, against
// the in-process peer: a piscina pool of 2 threads running the same no-op N times.
// Configurations alternate within each rep so that CPU noise hits them all alike.
//
// First, the burst as a user issues it: a fresh `local()` cluster with its defaults, a
// 2,000-call warm-up, then one burst of N calls at once, timed; a new cluster each rep
// (nothing carried over from an earlier burst), beside a fresh piscina pool run the same way.
import { Piscina } from "piscina";
import { local, type Cluster } from "../src/index.ts";
import os from "node:os";
import { footer, median, num, processCpuUs, progress, quick, ratio, reps, spread, table } from "./common.ts";

const REPS = reps(5, 2);
const N = quick ? 20_000 : 100_000;
const STRAND_WINDOWS = [10_000, 1_000] as const;
const PISCINA_WINDOW = 64;
const THREADS = [1, 2] as const;
/** Fresh clusters (and fresh piscina pools) for the one-burst rows. */
const FRESH = reps(5, 2);
const WARMUP_CALLS = 2000;

type Call = () => Promise<unknown>;

/** All N calls issued at once, then awaited together. */
const allAtOnce = (call: Call): Promise<unknown> => Promise.all(Array.from({ length: N }, call));

/** At most `k` calls outstanding: a new one starts as soon as one finishes. */
async function windowed(call: Call, k: number): Promise<void> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < N) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(k, N) }, lane));
}

interface Sample {
  callsPerSec: number;
  driverUsPerCall: number;
  runnerUsPerCall: number;
}

async function sample(run: () => Promise<unknown>, runnerPids: readonly number[]): Promise<Sample> {
  const c0 = process.cpuUsage();
  const r0 = runnerPids.reduce((s, p) => s + processCpuUs(p), 0);
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const r = runnerPids.reduce((s, p) => s + processCpuUs(p), 0) - r0;
  return { callsPerSec: (N / ms) * 1000, driverUsPerCall: (c.user + c.system) / N, runnerUsPerCall: r / N };
}

interface Config {
  name: string;
  run: () => Promise<unknown>;
  pids: number[];
  samples: Sample[];
}

/** One burst from a fresh pool or cluster: what a program does once, right after starting. */
async function freshBursts(): Promise<{ strand: Sample[]; piscina: Sample[] }> {
  const strand: Sample[] = [];
  const piscina: Sample[] = [];
  for (let r = 0; r < FRESH; r++) {
    const pool = new Piscina({ filename: new URL("./fixtures/piscina-noop.ts", import.meta.url).href, minThreads: 2, maxThreads: 2 });
    try {
      const call = (): Promise<unknown> => pool.run(undefined);
      await Promise.all(Array.from({ length: WARMUP_CALLS }, call));
      piscina.push(await sample(() => allAtOnce(call), []));
    } finally {
      await pool.destroy();
    }
    const cluster = await local();
    try {
      const m = await cluster.import<typeof import("./fixtures/noop.ts")>(new URL("./fixtures/noop.ts", import.meta.url));
      const call = (): Promise<void> => m.noop();
      await Promise.all(Array.from({ length: WARMUP_CALLS }, call));
      strand.push(await sample(() => allAtOnce(call), cluster.runners.map((x) => x.pid)));
    } finally {
      await cluster.close();
    }
    progress(`throughput fresh ${r + 1}/${FRESH}: one burst of ${num(N)}: Strand ${num(strand.at(-1)!.callsPerSec)} calls/s, piscina ${num(piscina.at(-1)!.callsPerSec)} calls/s`);
  }
  return { strand, piscina };
}

async function main(): Promise<void> {
  const fresh = await freshBursts();
  const pool = new Piscina({ filename: new URL("./fixtures/piscina-noop.ts", import.meta.url).href, minThreads: 2, maxThreads: 2 });
  const piscinaCall = (): Promise<unknown> => pool.run(undefined);
  const configs: Config[] = [
    { name: "piscina, 2 threads in-process, all at once", run: () => allAtOnce(piscinaCall), pids: [], samples: [] },
    { name: `piscina, 2 threads in-process, window of ${PISCINA_WINDOW}`, run: () => windowed(piscinaCall, PISCINA_WINDOW), pids: [], samples: [] },
  ];
  const clusters: Cluster[] = [];
  try {
    for (const threads of THREADS) {
      const cluster = await local({ runners: 2, threads });
      clusters.push(cluster);
      const m = await cluster.import<typeof import("./fixtures/noop.ts")>(new URL("./fixtures/noop.ts", import.meta.url));
      const call = (): Promise<void> => m.noop();
      const pids = cluster.runners.map((r) => r.pid);
      const label = `Strand, 2 runners × ${threads} thread${threads > 1 ? "s" : ""}`;
      configs.push({ name: `${label}, all ${num(N)} at once`, run: () => allAtOnce(call), pids, samples: [] });
      for (const k of STRAND_WINDOWS) configs.push({ name: `${label}, window of ${num(k)}`, run: () => windowed(call, k), pids, samples: [] });
    }
    progress(`throughput: warm-up`);
    for (const c of configs) await c.run();
    for (let r = 0; r < REPS; r++) {
      for (const c of configs) c.samples.push(await sample(c.run, c.pids));
      progress(`throughput rep ${r + 1}/${REPS}: ${configs.map((c) => num(c.samples.at(-1)!.callsPerSec)).join(", ")} calls/s`);
    }
  } finally {
    await Promise.all(clusters.map((c) => c.close()));
    await pool.destroy();
  }

  const freshMed = (xs: Sample[], f: keyof Sample): number => median(xs.map((x) => x[f]));
  const freshStrand = freshMed(fresh.strand, "callsPerSec");
  const freshPiscina = freshMed(fresh.piscina, "callsPerSec");
  console.log(`## One burst of ${num(N)} tiny calls from a fresh cluster\n`);
  console.log(table(
    ["", "calls/s (median)", "range over fresh runs", "/ piscina", "driver CPU µs/call", "runner CPU µs/call"],
    [
      [`**Strand, fresh \`local()\` (defaults), ${num(WARMUP_CALLS)} warm-up calls, one burst**`, num(freshStrand), spread(fresh.strand.map((x) => x.callsPerSec)),
        ratio(freshStrand / freshPiscina), num(freshMed(fresh.strand, "driverUsPerCall"), 2), num(freshMed(fresh.strand, "runnerUsPerCall"), 2)],
      [`piscina, fresh pool of 2 threads, ${num(WARMUP_CALLS)} warm-up calls, one burst`, num(freshPiscina), spread(fresh.piscina.map((x) => x.callsPerSec)),
        ratio(1), num(freshMed(fresh.piscina, "driverUsPerCall"), 2), "–"],
    ],
  ));
  console.log();
  console.log(footer([
    `**Target (issue 19): one burst ≥ 150,000 calls/s: ${num(freshStrand)} calls/s = ${ratio(freshStrand / 150_000)} of the target: ${freshStrand >= 150_000 ? "met" : "**missed**"}.** Median over ${FRESH} fresh clusters (and fresh pools), alternating.`,
    `CPU per call in the burst (driver ${num(freshMed(fresh.strand, "driverUsPerCall"), 2)} µs + runners ${num(freshMed(fresh.strand, "runnerUsPerCall"), 2)} µs): on this machine's ${os.availableParallelism()} CPUs, 150,000 calls/s needs the two together ≤ ${num((os.availableParallelism() * 1e6) / 150_000, 2)} µs/call, and the driver alone (one thread) ≤ ${num(1e6 / 150_000, 2)} µs/call.`,
    `As a program runs it: \`local()\` with its defaults, \`import\`, ${num(WARMUP_CALLS)} no-op calls issued at once and awaited, then ${num(N)} issued at once (\`Promise.all\`), timed until all have resolved; then the cluster is closed. Nothing is carried over from an earlier burst.`,
  ]));
  console.log();

  const med = (c: Config, f: keyof Sample): number => median(c.samples.map((s) => s[f]));
  const fastest = (cs: Config[]): Config => cs.reduce((a, b) => (med(b, "callsPerSec") > med(a, "callsPerSec") ? b : a));
  const peer = fastest(configs.filter((c) => c.pids.length === 0));
  const best = fastest(configs.filter((c) => c.pids.length > 0));
  console.log(`## Tiny-task throughput, steady state: ${num(N)} no-op calls\n`);
  console.log(table(
    ["", "calls/s (median)", "range over reps", "/ best piscina", "driver CPU µs/call", "runner CPU µs/call"],
    configs.map((c) => [
      c === best || c === peer ? `**${c.name}**` : c.name,
      num(med(c, "callsPerSec")),
      spread(c.samples.map((s) => s.callsPerSec)),
      ratio(med(c, "callsPerSec") / med(peer, "callsPerSec")),
      num(med(c, "driverUsPerCall"), 2),
      c.pids.length === 0 ? "–" : num(med(c, "runnerUsPerCall"), 2),
    ]),
  ));
  console.log();
  console.log(footer([
    `Median over ${REPS} reps; each rep runs every configuration once, in the order shown. Target: ≥ 100,000 calls/s for Strand.`,
    `"all at once": \`Promise.all\` over ${num(N)} calls; "window of k": at most k calls outstanding, a new one issued as each completes. Bold: the fastest piscina mode (the peer the ratios use) and the fastest Strand configuration.`,
    `piscina with its defaults (one task per worker at a time, as in a runner); each \`run()\` is one thread hop. A runner batches queued calls into one hop per thread.`,
    `On a 2-CPU machine the default thread count for 2 runners is ${Math.max(1, Math.floor(2 / 2))} per runner, i.e. the "× 1 thread" rows.`,
    `Driver CPU: this process (for piscina it includes its worker threads). Runner CPU: both runner processes, summed, from /proc (10 ms ticks).`,
  ]));
  console.log();
}

await main();
