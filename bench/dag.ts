// Task-graph scheduling: a random DAG of 1,000 small tasks (~0.1 ms of arithmetic each, up
// to 3 inputs from earlier tasks, passed as Refs from `f.ref()`) on 2 runners × 1 thread,
// against its own ideal: max(total work / cores, critical path), both from the run times
// the tasks measured themselves in that rep. Comparison rows run the same graph level by
// level (a barrier after each depth level) and as plain calls chained by promises in the
// driver. Modes alternate within each rep.
import { local, type Ref, type RefOr } from "../src/index.ts";
import { footer, median, num, processCpuUs, progress, quick, ratio, reps, spread, table } from "./common.ts";
import { compute, type Out } from "./fixtures/dag-task.ts";

type Tasks = typeof import("./fixtures/dag-task.ts");

const REPS = reps(7, 2);
const TASKS = quick ? 200 : 1000;
/** Target run time of one task on a runner thread, µs. */
const TASK_US = 100;
/** A task's inputs are 1–3 distinct tasks among the previous WINDOW (the first task has none). */
const MAX_INPUTS = 3;
const WINDOW = 100;
const SEED = 42;
/** Length of the latency chains. */
const CHAIN = quick ? 50 : 200;
const RUNNERS = 2;
const THREADS = 1;

/** mulberry32: a small seeded generator, so that every run builds the same graph. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Dag {
  /** Inputs of each task (indices of earlier tasks). */
  parents: number[][];
  /** Each task's seed, so that results depend on which task is which. */
  seeds: number[];
  /** Tasks by depth: level 0 has no inputs, level d has an input on level d - 1. */
  levels: number[][];
  /** Tasks nothing depends on: awaiting them awaits the whole graph. */
  sinks: number[];
  edges: number;
}

function makeDag(n: number, seed: number): Dag {
  const r = rng(seed);
  const parents: number[][] = [];
  const seeds: number[] = [];
  const depth: number[] = [];
  const hasChild = new Array<boolean>(n).fill(false);
  let edges = 0;
  for (let i = 0; i < n; i++) {
    const k = i === 0 ? 0 : Math.min(i, 1 + Math.floor(r() * MAX_INPUTS));
    const lo = Math.max(0, i - WINDOW);
    const ps = new Set<number>();
    while (ps.size < k) ps.add(lo + Math.floor(r() * (i - lo)));
    const p = [...ps].sort((a, b) => a - b);
    parents.push(p);
    seeds.push(Math.floor(r() * 2 ** 32));
    edges += p.length;
    let d = 0;
    for (const j of p) {
      d = Math.max(d, depth[j]! + 1);
      hasChild[j] = true;
    }
    depth.push(d);
  }
  const levels: number[][] = [];
  depth.forEach((d, i) => (levels[d] ??= []).push(i));
  return { parents, seeds, levels, sinks: hasChild.flatMap((c, i) => (c ? [] : [i])), edges };
}

/** Total work and the critical path, from each task's measured time. */
function analyse(dag: Dag, us: readonly number[], cores: number): { totalMs: number; cpMs: number; idealMs: number } {
  const finish: number[] = [];
  let total = 0;
  let cp = 0;
  for (let i = 0; i < us.length; i++) {
    let start = 0;
    for (const j of dag.parents[i]!) start = Math.max(start, finish[j]!);
    finish.push(start + us[i]!);
    total += us[i]!;
    cp = Math.max(cp, finish[i]!);
  }
  return { totalMs: total / 1000, cpMs: cp / 1000, idealMs: Math.max(total / cores, cp) / 1000 };
}

/** Marks the timed part of a run: wall time and CPU of this process and of the runners. */
interface Clock {
  start(): void;
  stop(): void;
}

interface Mode {
  name: string;
  /** Runs the graph once, calling clock.start() and clock.stop() around the timed part; returns each task's result. */
  run: (clock: Clock) => Promise<Out[]>;
  walls: number[];
  totals: number[];
  cps: number[];
  ideals: number[];
  ratios: number[];
  driverUs: number;
  runnerUs: number;
  /** Objects the runners fetched from each other, over the reps. */
  fetches: number;
}

async function main(): Promise<void> {
  const dag = makeDag(TASKS, SEED);
  await using cluster = await local({ runners: RUNNERS, threads: THREADS });
  const cores = cluster.runners.reduce((s, r) => s + r.threads, 0);
  const m = await cluster.import<Tasks>(new URL("./fixtures/dag-task.ts", import.meta.url));

  // Calibrate on the runners (every thread), then size the tasks to ~TASK_US there.
  const rates = await Promise.all(Array.from({ length: cores }, () => m.calibrate()));
  const iters = Math.round(TASK_US * median(rates));

  // The same graph in this process, one task after another: the expected results, and
  // what a task costs with nothing else running.
  const expected: number[] = [];
  const inProcUs: number[] = [];
  for (let rep = 0; rep < 3; rep++) { // the last pass is the one kept: the loop is warm by then
    expected.length = 0;
    inProcUs.length = 0;
    for (let i = 0; i < TASKS; i++) {
      const t0 = performance.now();
      expected.push(compute(iters, dag.seeds[i]!, dag.parents[i]!.map((j) => ({ x: expected[j]!, us: 0 }))));
      inProcUs.push((performance.now() - t0) * 1000);
    }
  }
  const inProc = analyse(dag, inProcUs, cores);

  const args = (i: number, inputs: RefOr<Out>[]): [number, number, RefOr<Out>[]] => [iters, dag.seeds[i]!, inputs];

  /** Reads every task's value (untimed, after the wall clock stopped) and releases the Refs. */
  const collect = async (refs: Ref<Out>[]): Promise<Out[]> => {
    try {
      return await Promise.all(refs.map((r) => cluster.get(r)));
    } finally {
      for (const r of refs) r.release();
    }
  };

  // The graph as Refs: every task submitted at once, each waiting for its own inputs only.
  const graph = async (clock: Clock): Promise<Out[]> => {
    const refs: Ref<Out>[] = [];
    clock.start();
    for (let i = 0; i < TASKS; i++) refs.push(m.task.ref(...args(i, dag.parents[i]!.map((j) => refs[j]!))));
    await Promise.all(dag.sinks.map((i) => cluster.get(refs[i]!)));
    clock.stop();
    return collect(refs);
  };

  // The same graph, but the program awaits `cluster.get()` of every Ref it made (as a user
  // who wants every task's value does), not only the sinks'.
  const graphAll = async (clock: Clock): Promise<Out[]> => {
    const refs: Ref<Out>[] = [];
    clock.start();
    for (let i = 0; i < TASKS; i++) refs.push(m.task.ref(...args(i, dag.parents[i]!.map((j) => refs[j]!))));
    try {
      const outs = await Promise.all(refs.map((r) => cluster.get(r)));
      clock.stop();
      return outs;
    } finally {
      for (const r of refs) r.release();
    }
  };

  // Level by level with Refs: a level's tasks are submitted together, and the next level
  // starts once every one of them is done (get() of each as the barrier).
  const levelsRefs = async (clock: Clock): Promise<Out[]> => {
    const refs: Ref<Out>[] = [];
    clock.start();
    for (const level of dag.levels) {
      for (const i of level) refs[i] = m.task.ref(...args(i, dag.parents[i]!.map((j) => refs[j]!)));
      await Promise.all(level.map((i) => cluster.get(refs[i]!)));
    }
    clock.stop();
    return collect(refs);
  };

  // Level by level with plain calls (as DistGo ran graphs): results come back to the
  // driver, which sends them as arguments to the next level.
  const levelsPlain = async (clock: Clock): Promise<Out[]> => {
    const outs: Out[] = [];
    clock.start();
    for (const level of dag.levels) {
      const done = await Promise.all(level.map((i) => m.task(...args(i, dag.parents[i]!.map((j) => outs[j]!)))));
      level.forEach((i, k) => (outs[i] = done[k]!));
    }
    clock.stop();
    return outs;
  };

  // Plain calls chained by promises in the driver: no barriers, no Refs; every value goes
  // through the driver.
  const promisesPlain = async (clock: Clock): Promise<Out[]> => {
    const ps: Promise<Out>[] = [];
    clock.start();
    for (let i = 0; i < TASKS; i++) {
      const inputs = dag.parents[i]!.map((j) => ps[j]!);
      ps.push(Promise.all(inputs).then((vals) => m.task(...args(i, vals))));
    }
    const outs = await Promise.all(ps);
    clock.stop();
    return outs;
  };

  const mode = (name: string, run: (clock: Clock) => Promise<Out[]>): Mode =>
    ({ name, run, walls: [], totals: [], cps: [], ideals: [], ratios: [], driverUs: 0, runnerUs: 0, fetches: 0 });
  const modes: Mode[] = [
    mode("**graph: `f.ref()` + Refs, no barriers, `get()` of the sinks**", graph),
    mode("**graph: `f.ref()` + Refs, no barriers, `get()` of every Ref**", graphAll),
    mode("level by level: `f.ref()`, barrier = `get()` of the level", levelsRefs),
    mode("level by level: plain calls, values via the driver (DistGo)", levelsPlain),
    mode("plain calls chained by promises in the driver", promisesPlain),
  ];
  const shortNames = ["graph, sinks", "graph, every Ref", "levels with Refs", "levels, plain", "promises, plain"];
  const pids = cluster.runners.map((r) => r.pid);

  const check = (name: string, outs: readonly Out[]): void => {
    for (let i = 0; i < TASKS; i++) {
      if (outs[i]?.x !== expected[i]) throw new Error(`${name}: task ${i} returned ${outs[i]?.x}, expected ${expected[i]}`);
    }
  };

  const runnerCpuUs = (): number => pids.reduce((s, p) => s + processCpuUs(p), 0);
  const runnerFetches = async (): Promise<number> => (await cluster.runnerStats()).reduce((s, x) => s + x.objectFetches, 0);
  const noClock: Clock = { start: () => {}, stop: () => {} };

  progress(`dag: ${TASKS} tasks, ${dag.edges} edges, ${dag.levels.length} levels; ${iters} rounds per task; warm-up`);
  for (const md of modes) check(md.name, await md.run(noClock));
  for (let r = 0; r < REPS; r++) {
    for (const md of modes) {
      let t0 = 0;
      let c0 = process.cpuUsage();
      let r0 = 0;
      let wallMs = Number.NaN;
      const f0 = await runnerFetches();
      const outs = await md.run({
        start: () => {
          r0 = runnerCpuUs();
          c0 = process.cpuUsage();
          t0 = performance.now();
        },
        stop: () => {
          wallMs = performance.now() - t0;
          const c = process.cpuUsage(c0);
          md.driverUs += c.user + c.system;
          md.runnerUs += runnerCpuUs() - r0;
        },
      });
      md.fetches += (await runnerFetches()) - f0;
      check(md.name, outs);
      const a = analyse(dag, outs.map((o) => o.us), cores);
      md.walls.push(wallMs);
      md.totals.push(a.totalMs);
      md.cps.push(a.cpMs);
      md.ideals.push(a.idealMs);
      md.ratios.push(wallMs / a.idealMs);
    }
    progress(`dag rep ${r + 1}/${REPS}: ${modes.map((md) => `${num(md.walls.at(-1)!, 1)} ms (${ratio(md.ratios.at(-1)!)})`).join(", ")}`);
  }

  // The latency a dependency adds: a chain of CHAIN empty tasks, each the input of the next.
  const chainPlain: number[] = [];
  const chainRefs: number[] = [];
  progress(`dag: chains of ${CHAIN} empty tasks`);
  for (let r = 0; r < REPS + 1; r++) {
    let t0 = performance.now();
    let v: Out = { x: 0, us: 0 };
    for (let i = 0; i < CHAIN; i++) v = await m.task(0, i, [v]);
    if (r > 0) chainPlain.push(((performance.now() - t0) * 1000) / CHAIN);
    const refs: Ref<Out>[] = [];
    t0 = performance.now();
    for (let i = 0; i < CHAIN; i++) refs.push(m.task.ref(0, i, i === 0 ? [] : [refs[i - 1]!]));
    await cluster.get(refs[CHAIN - 1]!);
    if (r > 0) chainRefs.push(((performance.now() - t0) * 1000) / CHAIN);
    for (const ref of refs) ref.release();
  }

  const stats = await cluster.runnerStats();
  const leftObjects = stats.reduce((s, x) => s + x.objects, 0);

  const cpTasks = dag.levels.length;
  console.log(`## Task graph: ${num(TASKS)} tasks of ~${TASK_US} µs on ${RUNNERS} runners × ${THREADS} thread\n`);
  console.log(table(
    ["tasks", "edges", "sinks", "levels (critical path, tasks)", "task µs in-process (mean)", "total work in-process ms", "ideal in-process ms"],
    [[num(TASKS), num(dag.edges), num(dag.sinks.length), num(cpTasks), num((inProc.totalMs * 1000) / TASKS, 1), num(inProc.totalMs, 1), num(inProc.idealMs, 1)]],
  ));
  console.log();
  console.log(table(
    ["mode", "wall ms (median)", "wall range", "total work ms", "critical path ms", "ideal ms", "wall / ideal", "per-rep ratio", "driver CPU ms", "runner CPU ms", "runner-to-runner fetches"],
    modes.map((md) => [
      md.name, num(median(md.walls), 1), spread(md.walls, 1), num(median(md.totals), 1), num(median(md.cps), 2),
      num(median(md.ideals), 1), ratio(median(md.ratios)), spread(md.ratios, 2),
      num(md.driverUs / REPS / 1000), num(md.runnerUs / REPS / 1000), num(md.fetches / REPS),
    ]),
  ));
  console.log();
  const batches = stats.reduce((s, r) => s + r.batches, 0);
  const batched = stats.reduce((s, r) => s + r.batchedCalls, 0);
  console.log(`Latency of one dependency: a chain of ${CHAIN} tasks with no work, each the input of the next.\n`);
  console.log(table(
    ["chain", "µs per step (median)", "range", "/ plain"],
    [
      ["plain calls, each awaited and its value passed to the next", num(median(chainPlain)), spread(chainPlain), ratio(1)],
      ["`f.ref()` chain, submitted at once, `get()` of the last", num(median(chainRefs)), spread(chainRefs), ratio(median(chainRefs) / median(chainPlain))],
    ],
  ));
  console.log();
  console.log(footer([
    `**Targets: graph, \`get()\` of the sinks ${ratio(median(modes[0]!.ratios))} and of every Ref ${ratio(median(modes[1]!.ratios))} of the ideal (≤ 1.5x each); \`f.ref()\` chain ${ratio(median(chainRefs) / median(chainPlain))} of the plain chain (≤ 1.2x).**`,
    `Strand's own CPU per task (mean per rep; driver CPU, and runner CPU beyond the tasks' measured work): ${modes.map((md, i) => `${shortNames[i]} ${num(md.driverUs / REPS / TASKS, 1)} + ${num(Math.max(0, md.runnerUs / REPS - median(md.totals) * 1000) / TASKS, 1)} µs`).join("; ")}. On 2 cores the wall time is about (task work + these) / 2.`,
    `Median over ${REPS} reps after one warm-up rep; each rep runs every mode once, in the order shown.`,
    `Graph: seeded (mulberry32, seed ${SEED}); task 0 has no inputs, every other task 1–${MAX_INPUTS} distinct inputs among the previous ${WINDOW} tasks. Levels = longest chain in tasks.`,
    `A task is ${num(iters)} rounds of an LCG (calibrated on the runner threads to ~${TASK_US} µs) folded over its inputs' results; every result is checked against the same graph run in this process. Each task measures its own run time (performance.now() around the work, on the runner); total work, critical path and ideal = max(total work / ${cores} cores, critical path) use those times, per rep. In-process columns: the same tasks run one after another in this process (the last of 3 passes).`,
    `Wall: from the first submission until \`cluster.get()\` of every sink has resolved (graph, sinks; the task values are read afterwards, untimed), or of every Ref, asked for as soon as the graph is built (graph, every Ref), or the last level's results are in (level by level), or every call has resolved (promises).`,
    `CPU during the timed part, mean per rep: driver = this process, runner = both runner processes (all threads; from /proc in 10 ms ticks). The ideal counts only the tasks' own work: on a 2-CPU machine the driver's and the runners' own CPU competes with it. Runner batches over the whole run: ${num(batches)} hand-overs to threads carrying ${num(batched)} calls.`,
    `Runner-to-runner fetches: inputs made on the other runner (mean per rep, counted by the runners; the Ref modes' untimed reading of values goes to the driver and is not counted). After the run, with every Ref released, the runners held ${num(leftObjects)} objects.`,
  ]));
  console.log();
}

await main();
