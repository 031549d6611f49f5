// What watching a cluster costs: the throughput and round-trip workloads (as in
// throughput.ts and rtt.ts) on clusters that differ only in what observes them, side by
// side in one run. Rounds alternate the variants (ABBA order), so CPU noise hits them all
// alike; medians over rounds, each variant's ratio to "off" (the floor), per-round ranges.
//
// VARIANTS is the table to extend: a variant is the options its local cluster starts with,
// plus what watches it while it runs (a scraper, a dashboard, a trace sink...).
import { pino } from "pino";
import { local, type Cluster, type LocalOptions } from "../src/index.ts";
import { PendingCall } from "../src/driver/calls/call.ts";
import { DriverMetrics } from "../src/driver/observe/metrics.ts";
import { Observers } from "../src/driver/observe/observers.ts";
import { CallTally } from "../src/protocol/metrics/tally.ts";
import { RANK_EXPORT_PREFIX } from "../src/protocol/spmd-wire.ts";
import { footer, median, num, percentile, processCpuUs, progress, quick, ratio, spread, table } from "./common.ts";

interface Variant {
  name: string;
  /** Options of its local cluster (on top of 2 runners × 1 thread). */
  options: LocalOptions;
  /** Starts whatever watches the cluster during the workloads; returns how to stop it. */
  watch?: (cluster: Cluster) => () => Promise<void>;
}

/** GETs every metrics endpoint of the cluster every `ms`, as a Prometheus scraping it would. */
function scrapeEvery(ms: number): (cluster: Cluster) => () => Promise<void> {
  return (cluster) => {
    const { driver, runners } = cluster.metricsEndpoints;
    const targets = [...(driver === undefined ? [] : [driver]), ...runners];
    let inFlight: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      inFlight = Promise.all(targets.map(async (t) => (await fetch(`http://${t}/metrics`)).text()));
    }, ms);
    return async () => {
      clearInterval(timer);
      await inFlight;
    };
  };
}

/** A browser's worth of dashboard: its live stream read (and dropped) while the workloads run. */
function viewDashboard(cluster: Cluster): () => Promise<void> {
  const url = cluster.dashboardUrl;
  if (url === undefined) throw new Error("viewDashboard: the cluster serves no dashboard");
  const ac = new AbortController();
  const reading = fetch(new URL("api/events", url), { signal: ac.signal }).then(async (res) => {
    // A browser would draw each picture; the bench only takes them off the socket.
    const reader = res.body!.getReader();
    while (!(await reader.read()).done);
  }).catch(() => {});
  return async () => {
    ac.abort();
    await reading;
  };
}

/**
 * A trace running while the workloads run: every call observed on the driver, and a span per
 * call recorded on the runners and sent every 200 ms. Its stop() (the final flush, building
 * the Trace Event JSON in memory) comes after the workloads, untimed.
 */
function traceWhile(cluster: Cluster): () => Promise<void> {
  const started = cluster.trace.start();
  return async () => {
    await started;
    await cluster.trace.stop();
  };
}

const VARIANTS: Variant[] = [
  { name: "off (floor)", options: {} },
  // What counting costs per call, with nobody reading the counts.
  { name: "metrics on, not scraped", options: { metrics: true } },
  // Plus the fixed cost of answering scrapes, 15 times as often as Prometheus's default.
  { name: "metrics on, scraped every 1 s", options: { metrics: true }, watch: scrapeEvery(1000) },
  // The dashboard watches every runner with spans (a span per call recorded and shipped) and
  // streams pictures to an open page.
  { name: "dashboard on, page open", options: { dashboard: { quiet: true } }, watch: viewDashboard },
  { name: "trace running", options: {}, watch: traceWhile },
  // What the issue asks of: both at once.
  {
    name: "metrics + dashboard, scraped, page open", options: { metrics: true, dashboard: { quiet: true } },
    watch: (c) => {
      const stops = [scrapeEvery(1000)(c), viewDashboard(c)];
      return async () => {
        await Promise.all(stops.map((s) => s()));
      };
    },
  },
];

const ROUNDS = quick ? 4 : 10;
const N = quick ? 20_000 : 50_000;
const WINDOW = 1_000;
const RTT_CALLS = quick ? 500 : 2000;

interface Round {
  callsPerSec: number;
  /** CPU per call of the throughput workload: this process (the driver), and the runner processes. */
  driverUs: number;
  runnerUs: number;
  p50: number;
  p99: number;
}

type Call = () => Promise<unknown>;

async function throughput(call: Call): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (started < N) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return (N / (performance.now() - t0)) * 1000;
}

async function rtt(call: Call): Promise<{ p50: number; p99: number }> {
  const lat = new Float64Array(RTT_CALLS);
  for (let i = 0; i < RTT_CALLS; i++) {
    const t0 = performance.now();
    await call();
    lat[i] = (performance.now() - t0) * 1000;
  }
  lat.sort();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

// --- The same costs in isolation: no network, no other process, so the machine's noise
// (which moves the rounds above by tens of percent on a shared VM) barely reaches them.
// Minimum over reps: interference only ever adds time.

const ISOLATED_CALLS = 100_000;
const ISOLATED_REPS = quick ? 9 : 25;
const NAMES = ["noop", "add", "echo"];
const silent = pino({ level: "silent" });

/** ns per call for the driver's observer path: made, sent, settled, with or without the metrics observer. */
function driverPath(withMetrics: boolean): number {
  const observers = new Observers(silent);
  const metrics = withMetrics
    ? DriverMetrics.observe({
      observe: (o) => observers.add(o), on: () => undefined, off: () => undefined, runners: [],
      stats: { resent: 0, queued: 0, objects: 0, objectBytes: 0, codeBytesSent: 0, channels: [], actors: [] },
    })
    : undefined;
  const none = (): void => {};
  const calls = Array.from({ length: ISOLATED_CALLS }, (_, i) => new PendingCall({ ref: 1, hash: "h" }, NAMES[i % 3]!, { body: new Uint8Array(0), attachments: [] }, false, none, none));
  const t0 = performance.now();
  for (const c of calls) {
    observers.submitted(c);
    c.attempts = 1;
    c.markSent();
    c.resolve(undefined);
  }
  const ns = ((performance.now() - t0) * 1e6) / ISOLATED_CALLS;
  void metrics?.close();
  return ns;
}

/** ns per call for what a runner thread adds: the function's name, started, settled. */
function threadPath(withMetrics: boolean): number {
  const tally = new CallTally();
  const fn = (name: string): string => (name.startsWith(RANK_EXPORT_PREFIX) ? name.slice(RANK_EXPORT_PREFIX.length) : name);
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < ISOLATED_CALLS; i++) {
    const name = NAMES[i % 3]!;
    if (withMetrics) {
      tally.started(fn(name));
      tally.settled(fn(name), 0.00002 + i * 1e-12, undefined);
    } else {
      sink += name.length;
    }
  }
  const ns = ((performance.now() - t0) * 1e6) / ISOLATED_CALLS;
  return sink < 0 ? Number.NaN : ns;
}

/** Min over alternating reps of `f(false)` and `f(true)`: [off, on]. */
function isolated(f: (on: boolean) => number): [number, number] {
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < 3; r++) f(r % 2 === 0); // warm-up: both paths compiled before any rep counts
  for (let r = 0; r < 3; r++) f(r % 2 === 1);
  for (let r = 0; r < ISOLATED_REPS; r++) {
    off.push(f(false));
    on.push(f(true));
  }
  return [Math.min(...off), Math.min(...on)];
}

/** CPU ms one scrape costs: a runner process (read from /proc) and this driver (rendering, no HTTP). */
async function scrapeCost(cluster: Cluster): Promise<{ runnerMs: number; driverMs: number }> {
  const runner = cluster.metricsEndpoints.runners[0]!;
  const pid = cluster.runners[0]!.pid;
  const n = quick ? 30 : 100;
  for (let i = 0; i < 5; i++) await (await fetch(`http://${runner}/metrics`)).text();
  const r0 = processCpuUs(pid);
  for (let i = 0; i < n; i++) await (await fetch(`http://${runner}/metrics`)).text();
  const runnerMs = (processCpuUs(pid) - r0) / n / 1000;
  const driver = cluster.metricsEndpoints.driver!;
  for (let i = 0; i < 5; i++) await (await fetch(`http://${driver}/metrics`)).text();
  // The driver serves from this process: time its rendering alone (the HTTP client would count too).
  const m = DriverMetrics.observe({ observe: () => () => {}, on: () => undefined, off: () => undefined, runners: cluster.runners, stats: cluster.stats });
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await m.render();
  const c = process.cpuUsage(c0);
  await m.close();
  return { runnerMs, driverMs: (c.user + c.system) / n / 1000 };
}

async function main(): Promise<void> {
  const runs: { v: Variant; cluster: Cluster; call: Call; rounds: Round[] }[] = [];
  try {
    for (const v of VARIANTS) {
      const cluster = await local({ runners: 2, threads: 1, ...v.options });
      const m = await cluster.import<typeof import("./fixtures/noop.ts")>(new URL("./fixtures/noop.ts", import.meta.url));
      runs.push({ v, cluster, call: () => m.noop(), rounds: [] });
    }
    // Unpinned, as a user's program runs: what observing costs must hold where it is used.
    progress("observe: warm-up");
    for (const r of runs) {
      await throughput(r.call);
      await rtt(r.call);
    }
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? runs : [...runs].reverse();
      for (const r of order) {
        const stop = r.v.watch?.(r.cluster);
        const pids = r.cluster.runners.map((x) => x.pid);
        const c0 = process.cpuUsage();
        const r0 = pids.reduce((a, p) => a + processCpuUs(p), 0);
        const callsPerSec = await throughput(r.call);
        const c = process.cpuUsage(c0);
        const driverUs = (c.user + c.system) / N;
        const runnerUs = (pids.reduce((a, p) => a + processCpuUs(p), 0) - r0) / N;
        const { p50, p99 } = await rtt(r.call);
        await stop?.();
        r.rounds.push({ callsPerSec, driverUs, runnerUs, p50, p99 });
      }
      progress(`observe round ${i + 1}/${ROUNDS}: ${runs.map((r) => `${r.v.name}: ${num(r.rounds.at(-1)!.callsPerSec)} calls/s, p50 ${r.rounds.at(-1)!.p50.toFixed(1)} µs`).join("; ")}`);
    }

    const floor = runs[0]!;
    const med = (r: (typeof runs)[number], k: keyof Round): number => median(r.rounds.map((x) => x[k]));
    /** Per-round ratio to the floor's same round. */
    const perRound = (r: (typeof runs)[number], k: keyof Round): number[] => r.rounds.map((x, i) => x[k] / floor.rounds[i]![k]);
    console.log(`## What observing costs: metrics on vs off\n`);
    console.log(table(
      ["variant", "calls/s (median)", "range", "/ off", "per-round / off", "driver CPU µs/call", "runner CPU µs/call", "RTT p50 µs", "range", "/ off", "RTT p99 µs", "/ off"],
      runs.map((r) => [
        r === floor ? `**${r.v.name}**` : r.v.name,
        num(med(r, "callsPerSec")), spread(r.rounds.map((x) => x.callsPerSec)), ratio(med(r, "callsPerSec") / med(floor, "callsPerSec")),
        spread(perRound(r, "callsPerSec"), 2), num(med(r, "driverUs"), 2), num(med(r, "runnerUs"), 2),
        num(med(r, "p50"), 1), spread(r.rounds.map((x) => x.p50), 1), ratio(med(r, "p50") / med(floor, "p50")),
        num(med(r, "p99"), 1), ratio(med(r, "p99") / med(floor, "p99")),
      ]),
    ));
    console.log();
    console.log(footer([
      `${ROUNDS} rounds; each round runs every variant once, in ABBA order (reversed every other round). Medians over rounds; "/ off" is the ratio of medians, "per-round / off" the range of each round's ratio to off's in the same round. Target: within 5% (throughput ≥ 0.95x, RTT ≤ 1.05x).`,
      `Each variant is its own \`local({ runners: 2, threads: 1, ... })\`, all started before the first round. Throughput: ${num(N)} no-op calls, at most ${num(WINDOW)} outstanding; RTT: ${num(RTT_CALLS)} sequential awaited no-op calls (p50 and p99 of each round). CPU per call: of the throughput workload, this process (driver) and both runner processes summed (from /proc, 10 ms ticks).`,
      "Placement: not pinned; the driver and runner processes go where the OS puts them, as a user's program does.",
      `Variants: ${VARIANTS.map((v) => v.name).join("; ")}. "Scraped" means a GET of every endpoint (driver and both runners) on a timer while the workloads run; a scrape costs each process a few ms of CPU (prom-client's process metrics, the threads' answers, the text), a fixed cost per scrape that the CPU columns spread over the calls of that time.`,
    ]));
    console.log();

    progress("observe: the same costs in isolation");
    const [driverOff, driverOn] = isolated(driverPath);
    const [threadOff, threadOn] = isolated(threadPath);
    const watched = runs.find((r) => r.v.options.metrics !== undefined && r.v.options.metrics !== false);
    const scrape = watched === undefined ? undefined : await scrapeCost(watched.cluster);
    const share = (ns: number, us: number): string => `${((ns / 1000 / us) * 100).toFixed(1)}%`;
    console.log(`### The same costs in isolation\n`);
    console.log(table(
      ["what", "off", "on", "added", "share of the floor's CPU per call (table above)"],
      [
        ["driver: a call through the call observers (made, sent, settled), ns/call", num(driverOff, 0), num(driverOn, 0), num(driverOn - driverOff, 0), share(driverOn - driverOff, med(floor, "driverUs"))],
        ["runner thread: a call counted (name, started, settled), ns/call", num(threadOff, 0), num(threadOn, 0), num(threadOn - threadOff, 0), share(threadOn - threadOff, med(floor, "runnerUs"))],
        ...(scrape === undefined ? [] : [
          ["runner: one scrape, ms of CPU (its threads' answers, process metrics, text, HTTP)", "–", num(scrape.runnerMs, 2), num(scrape.runnerMs, 2), `${((scrape.runnerMs / 15_000) * 100).toFixed(3)}% of a core at a 15 s scrape interval, ${((scrape.runnerMs / 1000) * 100).toFixed(2)}% at 1 s`],
          ["driver: one rendering, ms of CPU (process metrics, text; no HTTP)", "–", num(scrape.driverMs, 2), num(scrape.driverMs, 2), `${((scrape.driverMs / 15_000) * 100).toFixed(3)}% of a core at 15 s, ${((scrape.driverMs / 1000) * 100).toFixed(2)}% at 1 s`],
        ]),
      ],
    ));
    console.log();
    console.log(footer([
      `Minimum over ${ISOLATED_REPS} alternating reps of ${num(ISOLATED_CALLS)} calls (driver: real PendingCall objects through the cluster's Observers, with and without the metrics observer; runner thread: the tally updates call-runner.ts makes, against an empty loop), in this process. Scrapes: ${quick ? 30 : 100} in a row, the runner's CPU from /proc (10 ms ticks); the driver's rendering timed with process.cpuUsage.`,
    ]));
    console.log();
  } finally {
    await Promise.all(runs.map((r) => r.cluster.close()));
  }
}

await main();
