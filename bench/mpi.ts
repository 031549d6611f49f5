// SPMD ranks (`cluster.spmd`, `comm()`) against OpenMPI measured in the same run, reps
// alternating: ping-pong latency (8 B) and bandwidth (1 MiB, 64 MiB) between 2 ranks,
// allreduce (sum) of 2^20 doubles and bcast of 64 MiB on 2 and 4 ranks.
//
// The peer is OpenMPI over TCP (`--mca pml ob1 --mca btl tcp,self`): Strand ranks on
// different runners talk TCP, so that is the transport to beat. OpenMPI's shared-memory
// transport (vader) is shown for information. Both sides run the same loops (bench/mpi/
// mpibench.c, bench/fixtures/mpi-ranks.ts) timed on rank 0, and every statistic is computed
// here from their raw per-repetition times. Reference for the point-to-point rows: a raw
// Node TCP echo between two processes (what Node's sockets cost, which MPI's busy-polling
// C does not pay). OpenMPI is installed from Debian if missing; without it the
// Strand rows still print. Nothing asserts on timings.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { local, type Cluster, type Remote, type SpmdOptions } from "../src/index.ts";
import type { RankTimes } from "./fixtures/mpi-ranks.ts";
import { footer, loadAvg, median, num, percentile, progress, quick, reps, spread, table } from "./common.ts";
import { EchoClient, startEchoServer } from "./raw-echo.ts";
import { MPI_TRANSPORT, runMpiBench, setUpMpi, type MpiTransport } from "./mpi/openmpi.ts";

type Ranks = typeof import("./fixtures/mpi-ranks.ts");
type Test = "pingpong" | "allreduce" | "bcast" | "pingpongAfterCollectives";

const REPS = reps(5, 2);
const MiB = 1024 * 1024;
const MB = 1e6;
const DOUBLES = 1 << 20;
const CPUS = os.cpus().length;
const STRAND_JOB_TIMEOUT_MS = 180_000;
const MPI_TIMEOUT_MS = 300_000;

const root = fileURLToPath(new URL("..", import.meta.url));
const source = path.join(root, "bench", "mpi", "mpibench.c");
const binary = path.join(root, "bench", ".out", "mpi", "mpibench");

/** One measured loop: its test, size, warm-up and timed repetitions (per job), and on how many ranks. */
interface Loop {
  key: string;
  test: Test;
  n: number;
  warm: number;
  iters: number;
  ranks: 2 | 4;
}

const LOOPS: readonly Loop[] = [
  { key: "lat", test: "pingpong", n: 8, warm: quick ? 500 : 3000, iters: quick ? 1000 : 10_000, ranks: 2 },
  { key: "bw1", test: "pingpong", n: MiB, warm: 10, iters: quick ? 30 : 200, ranks: 2 },
  { key: "bw64", test: "pingpong", n: 64 * MiB, warm: 2, iters: quick ? 3 : 10, ranks: 2 },
  { key: "ar2", test: "allreduce", n: DOUBLES, warm: 3, iters: quick ? 5 : 30, ranks: 2 },
  { key: "bc2", test: "bcast", n: 64 * MiB, warm: 2, iters: quick ? 3 : 10, ranks: 2 },
  { key: "ar4", test: "allreduce", n: DOUBLES, warm: 3, iters: quick ? 5 : 30, ranks: 4 },
  { key: "bc4", test: "bcast", n: 64 * MiB, warm: 2, iters: quick ? 3 : 10, ranks: 4 },
  // Same runner only: the 64 MiB ping-pong after a round of collectives on the same ranks.
  { key: "bw64c", test: "pingpongAfterCollectives", n: 64 * MiB, warm: 2, iters: quick ? 3 : 10, ranks: 2 },
];

/**
 * Who ran a loop. strand: 2 runners × 1 thread for 2 ranks, 2 runners × 2 threads for 4;
 * strandU: as strand, with rank binding off (`bind: "none"`); strand4: 4 runners × 1 thread; strand1: 2 ranks on one runner (2 threads); tcp / sm: OpenMPI
 * over TCP / shared memory; raw: Node TCP echo.
 */
type Side = "strand" | "strandU" | "strand4" | "strand1" | "tcp" | "sm" | "raw";

/** Per loop and side, each rep's per-iteration times in µs. */
const times = new Map<string, Map<Side, number[][]>>();
const failed = new Map<Side, string>();

function record(loop: Loop, side: Side, us: readonly number[]): void {
  let bySide = times.get(loop.key);
  if (bySide === undefined) times.set(loop.key, (bySide = new Map()));
  let runs = bySide.get(side);
  if (runs === undefined) bySide.set(side, (runs = []));
  runs.push([...us]);
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** Runs `f` for `side` unless that side has failed before; a failure is kept for the tables and skips the side from then on. */
async function attempt(side: Side, loop: Loop, f: () => Promise<readonly number[]>): Promise<void> {
  if (failed.has(side)) return;
  try {
    const us = await f();
    if (us.length !== loop.iters) throw new Error(`${loop.key}: got ${us.length} times, expected ${loop.iters}`);
    record(loop, side, us);
  } catch (err) {
    failed.set(side, `${loop.key}: ${describe(err)}`);
    progress(`mpi: ${side} failed on ${loop.key}: ${describe(err)}`);
  }
}

// ---------------------------------------------------------------- OpenMPI

/** One mpirun of mpibench for `loop`; rank 0's per-iteration times in µs. */
const runMpi = (mode: MpiTransport, loop: Loop): Promise<number[]> =>
  runMpiBench(binary, mode, loop.ranks, [loop.test, String(loop.n), String(loop.warm), String(loop.iters)], MPI_TIMEOUT_MS);

// ---------------------------------------------------------------- Strand

interface StrandSetup {
  cluster: Cluster;
  m: Remote<Ranks>;
}

async function startStrand(runners: number, threads: number, bind?: "none"): Promise<StrandSetup> {
  const cluster = await local({ runners, threads, ...(bind !== undefined ? { bind } : {}) });
  return { cluster, m: await cluster.import<Ranks>(new URL("./fixtures/mpi-ranks.ts", import.meta.url)) };
}

/** 2-rank jobs whose ranks ran in one runner process, and how many of those on one thread. */
const sharedProcess = { jobs: 0, sameThread: 0 };
/** The CPUs each rank's thread was allowed (Strand's own binding), per side: "0|1" for rank 0 on CPU 0, rank 1 on CPU 1. */
const bindings = new Map<Side, Set<string>>();

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** One SPMD job of `loop`; rank 0's per-iteration times in µs. */
async function runStrand(s: StrandSetup, loop: Loop, options?: SpmdOptions, side: Side = "strand"): Promise<number[]> {
  const f = s.m[loop.test];
  const job = s.cluster.spmd(options ?? loop.ranks, f, loop.n, loop.warm, loop.iters);
  const results: RankTimes[] = await withTimeout(job, STRAND_JOB_TIMEOUT_MS, `spmd ${loop.key} on ${loop.ranks} ranks`);
  if (results.length !== loop.ranks || results.some((r, i) => r.rank !== i)) throw new Error(`spmd returned ranks ${results.map((r) => r.rank).join(",")}`);
  let seen = bindings.get(side);
  if (seen === undefined) bindings.set(side, (seen = new Set()));
  seen.add(results.map((r) => r.cpus).join("|"));
  if (results.length === 2 && results[0]!.pid === results[1]!.pid) {
    sharedProcess.jobs++;
    if (results[0]!.thread === results[1]!.thread) sharedProcess.sameThread++;
  }
  return results[0]!.us;
}

/** Ranks of a job on distinct processes? (The 2-rank rows are meant to cross runners.) */
async function rankPids(s: StrandSetup, size: number): Promise<number[]> {
  const r = await withTimeout(s.cluster.spmd(size, s.m.pingpong, 8, 0, 1), STRAND_JOB_TIMEOUT_MS, "spmd warm-up");
  return r.map((x) => x.pid);
}

// ---------------------------------------------------------------- what else the machine was doing

// The one-runner rows were slower after other benchmarks had run (docs/benchmarks.md, run D
// against E) with nothing in this process to explain it: these say, in the run itself,
// whether the runner's own cost per message changed (CPU, page faults) or only the wall
// time (something else on the CPUs), and what else was alive.

/** A process's CPU time (ms) and minor page faults so far, from /proc; undefined where there is none. */
function procCost(pid: number): { cpuMs: number; faults: number } | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // After the command: state is field 3, minflt 10, utime 14, stime 15 (1-based).
    return { cpuMs: (Number(f[11]) + Number(f[12])) * (1000 / 100), faults: Number(f[7]) };
  } catch {
    return undefined;
  }
}

/** Per one-runner loop: the runner process's CPU (µs) and minor faults per iteration, one per job. */
const oneRunnerCost = new Map<string, { cpuUs: number[]; faults: number[] }>();

/** The runner processes' cost, summed: the ranks' runner and idle ones (a job's ranks may be on any). */
function procsCost(pids: readonly number[]): { cpuMs: number; faults: number } | undefined {
  const all = [...new Set(pids)].map(procCost);
  if (all.length === 0 || all.some((c) => c === undefined)) return undefined;
  return all.reduce((a, c) => ({ cpuMs: a!.cpuMs + c!.cpuMs, faults: a!.faults + c!.faults }), { cpuMs: 0, faults: 0 });
}

async function measured(pids: readonly number[], loop: Loop, f: () => Promise<readonly number[]>): Promise<readonly number[]> {
  const before = procsCost(pids);
  const us = await f();
  const after = procsCost(pids);
  if (before !== undefined && after !== undefined) {
    let c = oneRunnerCost.get(loop.key);
    if (c === undefined) oneRunnerCost.set(loop.key, (c = { cpuUs: [], faults: [] }));
    const n = loop.warm + loop.iters;
    c.cpuUs.push(((after.cpuMs - before.cpuMs) * 1000) / n);
    c.faults.push((after.faults - before.faults) / n);
  }
  return us;
}

/** Strand runner processes alive that are not this bench's (left by earlier benchmarks, or anyone's), and their CPU so far. */
function otherRunners(ours: ReadonlySet<number>): { count: number; cpuS: number } {
  let count = 0;
  let cpuS = 0;
  try {
    for (const d of readdirSync("/proc")) {
      const pid = Number(d);
      if (!Number.isInteger(pid) || ours.has(pid) || pid === process.pid) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      if (!/\0runner(\0|$)/.test(cmd) || !cmd.includes("strand")) continue;
      count++;
      cpuS += (procCost(pid)?.cpuMs ?? 0) / 1000;
    }
  } catch {
    // no /proc
  }
  return { count, cpuS };
}

/** Load, memory and huge pages now, and other runners alive: one line for the footer. */
function machineState(ours: ReadonlySet<number>): string {
  let mem = "";
  try {
    const info = readFileSync("/proc/meminfo", "utf8");
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(info)?.[1] ?? Number.NaN);
    mem = `, MemAvailable ${num(kb("MemAvailable") / 1024, 0)} MiB, AnonHugePages ${num(kb("AnonHugePages") / 1024, 0)} MiB, Dirty ${num(kb("Dirty") / 1024, 0)} MiB`;
  } catch {
    // no /proc
  }
  const o = otherRunners(ours);
  return `load ${loadAvg()}${mem}, other Strand runner processes alive ${o.count} (CPU so far ${num(o.cpuS, 1)} s)`;
}

// ---------------------------------------------------------------- raw floor

/** Pins every thread of `pid` to `cpus` (a taskset list); false where it cannot. */
function pin(pid: number, cpus: string): boolean {
  if (process.platform !== "linux") return false;
  try {
    execFileSync("taskset", ["-a", "-pc", cpus, String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function rawEcho(client: EchoClient, loop: Loop): Promise<number[]> {
  const data = new Uint8Array(loop.n).fill(7);
  const sink = new Uint8Array(loop.n);
  const us: number[] = [];
  for (let i = -loop.warm; i < loop.iters; i++) {
    const t0 = performance.now();
    await client.roundTrip(data, sink);
    const t1 = performance.now();
    if (i >= 0) us.push((t1 - t0) * 1000);
  }
  return us;
}

// ---------------------------------------------------------------- tables

type Kind = "time" | "rate";

/** A row's per-rep statistic from one rep's per-iteration µs. */
interface Stat {
  kind: Kind;
  of: (us: number[]) => number;
}

const p50: Stat = { kind: "time", of: (us) => percentile(Float64Array.from(us).sort(), 50) };
const p99: Stat = { kind: "time", of: (us) => percentile(Float64Array.from(us).sort(), 99) };
const ms: Stat = { kind: "time", of: (us) => median(us) / 1000 };
const pingPongRate = (bytes: number): Stat => ({ kind: "rate", of: (us) => (2 * bytes) / MB / (median(us) / 1e6) });

function valueOf(loop: Loop, side: Side, stat: Stat): { med: number; all: number[] } | undefined {
  const runs = times.get(loop.key)?.get(side);
  if (runs === undefined || runs.length === 0) return undefined;
  const all = runs.map(stat.of);
  return { med: median(all), all };
}

const loopOf = (key: string): Loop => LOOPS.find((l) => l.key === key)!;

interface RowSpec {
  name: string;
  loop: string;
  stat: Stat;
  digits: number;
  strandSide?: Side;
  /** Time rows: Strand / OpenMPI at most this; rate rows: at least this. */
  target?: number;
  /** A target on Strand's own figure instead (the issue's same-runner ones): time rows at most, rate rows at least. */
  goal?: number;
}

/** Strand against `peer`; then the `extra` sides' medians. */
function row(spec: RowSpec, extra: readonly Side[], peer: Side = "tcp"): string[] {
  const loop = loopOf(spec.loop);
  const s = valueOf(loop, spec.strandSide ?? "strand", spec.stat);
  const t = valueOf(loop, peer, spec.stat);
  const cell = (v: { med: number } | undefined): string => (v === undefined ? "—" : num(v.med, spec.digits));
  const r = s !== undefined && t !== undefined ? s.med / t.med : Number.NaN;
  const rate = spec.stat.kind === "rate";
  const ratioCell = Number.isFinite(r) ? (rate ? `${(100 * r).toFixed(0)}% of bandwidth` : `${r.toFixed(2)}x the time`) : "—";
  let target = "—";
  if (spec.goal !== undefined) {
    const goal = `${rate ? "≥" : "≤"} ${num(spec.goal, 0)}`;
    const met = s !== undefined && (rate ? s.med >= spec.goal : s.med <= spec.goal);
    target = s !== undefined ? `${goal}: ${met ? "met" : "**missed**"}` : goal;
  }
  if (spec.target !== undefined) {
    const goal = rate ? `≥ ${(100 * spec.target).toFixed(0)}%` : `≤ ${spec.target.toFixed(2)}x`;
    const met = rate ? r >= spec.target : r <= spec.target;
    target = Number.isFinite(r) ? `${goal}: ${met ? "met" : "**missed**"}` : goal;
  }
  return [spec.name, cell(s), s === undefined ? "—" : spread(s.all, spec.digits), cell(t), ratioCell, target, ...extra.map((x) => cell(valueOf(loop, x, spec.stat)))];
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const mpi = setUpMpi(source, binary);
  if ("error" in mpi) {
    failed.set("tcp", mpi.error);
    failed.set("sm", mpi.error);
    progress(`mpi: OpenMPI unavailable (${mpi.error}); Strand rows only`);
  }

  const stateAtStart = machineState(new Set());
  await using echo = await startEchoServer();
  const echoClient = await EchoClient.connect(echo.port);

  const p2p = LOOPS.filter((l) => l.ranks === 2);
  const four = LOOPS.filter((l) => l.ranks === 4);
  const rawLoops = new Set(["lat", "bw1", "bw64"]);
  let twoPids: number[] = [];
  let fourPids: number[] = [];
  let four4Pids: number[] = [];
  let stateAtEnd = "—";

  // ---- 2 ranks: one per runner, with Strand's defaults: nothing pinned from outside (Strand
  // binds rank threads itself, as mpirun binds its ranks; see bindings below).
  {
    const s = await startStrand(2, 1);
    const u = await startStrand(2, 1, "none");
    try {
      twoPids = await rankPids(s, 2).catch((err: unknown) => (failed.set("strand", `warm-up: ${describe(err)}`), []));
      for (let rep = 0; rep < REPS; rep++) {
        for (const loop of p2p.filter((l) => l.key !== "bw64c")) {
          await attempt("tcp", loop, () => runMpi("tcp", loop));
          await attempt("sm", loop, () => runMpi("sm", loop));
          await attempt("strand", loop, () => runStrand(s, loop));
          await attempt("strandU", loop, () => runStrand(u, loop, undefined, "strandU"));
          if (rawLoops.has(loop.key)) {
            // Client on CPU 0 and server on CPU 1 for the echo only: children spawned later (mpirun) inherit this process's CPUs.
            const pinnedRaw = CPUS >= 2 && pin(process.pid, "0") && pin(echo.process.pid!, "1");
            await attempt("raw", loop, () => rawEcho(echoClient, loop));
            if (pinnedRaw) pin(process.pid, `0-${CPUS - 1}`);
          }
        }
        progress(`mpi 2 ranks rep ${rep + 1}/${REPS}: ${progressLine(p2p)}`);
      }
    } finally {
      await u.cluster.close();
      await s.cluster.close();
    }
  }
  echoClient.close();

  // ---- 4 ranks: 2 runners × 2 threads (pairs share a process), and 4 runners × 1 thread; unpinned, like mpirun's oversubscribed ranks.
  {
    const s2 = await startStrand(2, 2);
    const s4 = await startStrand(4, 1);
    try {
      fourPids = await rankPids(s2, 4).catch((err: unknown) => (failed.set("strand", `warm-up: ${describe(err)}`), []));
      four4Pids = await rankPids(s4, 4).catch((err: unknown) => (failed.set("strand4", `warm-up: ${describe(err)}`), []));
      for (let rep = 0; rep < REPS; rep++) {
        for (const loop of four) {
          await attempt("tcp", loop, () => runMpi("tcp", loop));
          await attempt("sm", loop, () => runMpi("sm", loop));
          await attempt("strand", loop, () => runStrand(s2, loop, { size: 4, placement: [0, 0, 1, 1] }));
          await attempt("strand4", loop, () => runStrand(s4, loop, undefined, "strand4"));
        }
        for (const loop of p2p.filter((l) => l.test.startsWith("pingpong"))) {
          await attempt("strand1", loop, () => measured(fourPids, loop, () => runStrand(s2, loop, { size: 2, placement: [0, 0] }, "strand1")));
        }
        progress(`mpi 4 ranks rep ${rep + 1}/${REPS}: ${progressLine(four)}`);
      }
      stateAtEnd = machineState(new Set([...fourPids, ...four4Pids]));
    } finally {
      await Promise.all([s2.cluster.close(), s4.cluster.close()]);
    }
  }

  // ---- tables
  const doubles = `2^20 doubles (${DOUBLES * 8 / MiB} MiB)`;
  console.log(`## MPI: Strand SPMD ranks against OpenMPI in the same run\n`);
  if ("error" in mpi) console.log(`> **OpenMPI unavailable: ${mpi.error}.** Only the Strand (and raw) columns are filled.\n`);
  console.log(`### Point to point: 2 ranks, on different runners (Strand) / processes (OpenMPI)\n`);
  console.log(table(
    ["", "Strand", "Strand range over reps", "OpenMPI TCP", "Strand vs OpenMPI TCP", "target", "OpenMPI shared memory (info)", "raw Node TCP echo (reference)", "Strand, bind none (info)"],
    [
      row({ name: "latency: 8 B ping-pong, round trip p50 (µs)", loop: "lat", stat: p50, digits: 1 }, ["sm", "raw", "strandU"]),
      row({ name: "latency: 8 B ping-pong, round trip p99 (µs)", loop: "lat", stat: p99, digits: 1 }, ["sm", "raw", "strandU"]),
      row({ name: "**bandwidth: 1 MiB ping-pong (MB/s)**", loop: "bw1", stat: pingPongRate(MiB), digits: 0, target: 0.5 }, ["sm", "raw", "strandU"]),
      row({ name: "**bandwidth: 64 MiB ping-pong (MB/s)**", loop: "bw64", stat: pingPongRate(64 * MiB), digits: 0, target: 0.5 }, ["sm", "raw", "strandU"]),
    ],
  ));
  console.log();
  console.log(`### Point to point within one machine's memory: 2 ranks on one runner (2 threads) / OpenMPI shared memory\n`);
  console.log(table(
    ["", "Strand, one runner", "Strand range over reps", "OpenMPI shared memory", "Strand vs OpenMPI shared memory", "target", "Strand across runners (above)"],
    [
      row({ name: "**latency: 8 B ping-pong, round trip p50 (µs)**", loop: "lat", stat: p50, digits: 1, strandSide: "strand1", goal: 10 }, ["strand"], "sm"),
      row({ name: "latency: 8 B ping-pong, round trip p99 (µs)", loop: "lat", stat: p99, digits: 1, strandSide: "strand1" }, ["strand"], "sm"),
      row({ name: "bandwidth: 1 MiB ping-pong (MB/s)", loop: "bw1", stat: pingPongRate(MiB), digits: 0, strandSide: "strand1" }, ["strand"], "sm"),
      row({ name: "**bandwidth: 64 MiB ping-pong (MB/s)**", loop: "bw64", stat: pingPongRate(64 * MiB), digits: 0, strandSide: "strand1", goal: 2000 }, ["strand"], "sm"),
      row({ name: "**bandwidth: 64 MiB ping-pong after 3 allreduces and a 64 MiB bcast (MB/s)**", loop: "bw64c", stat: pingPongRate(64 * MiB), digits: 0, strandSide: "strand1", goal: 2000 }, [], "sm"),
    ],
  ));
  console.log();
  console.log(`### Collectives (ms per operation)\n`);
  console.log(table(
    ["", "Strand", "Strand range over reps", "OpenMPI TCP", "Strand vs OpenMPI TCP", "target", "OpenMPI shared memory (info)", "Strand, bind none (info)"],
    [
      row({ name: `**allreduce sum of ${doubles}, 2 ranks: 2 runners × 1 thread**`, loop: "ar2", stat: ms, digits: 2, target: 1.5 }, ["sm", "strandU"]),
      row({ name: `**allreduce, 4 ranks: 2 runners × 2 threads**`, loop: "ar4", stat: ms, digits: 2, target: 1.5 }, ["sm", "strandU"]),
      row({ name: `allreduce, 4 ranks: 4 runners × 1 thread`, loop: "ar4", stat: ms, digits: 2, target: 1.5, strandSide: "strand4" }, ["sm", "strandU"]),
      row({ name: `bcast 64 MiB + barrier, 2 ranks: 2 runners × 1 thread`, loop: "bc2", stat: ms, digits: 1, target: 2 }, ["sm", "strandU"]),
      row({ name: `bcast 64 MiB + barrier, 4 ranks: 2 runners × 2 threads`, loop: "bc4", stat: ms, digits: 1, target: 2 }, ["sm", "strandU"]),
      row({ name: `bcast 64 MiB + barrier, 4 ranks: 4 runners × 1 thread`, loop: "bc4", stat: ms, digits: 1, target: 2, strandSide: "strand4" }, ["sm", "strandU"]),
    ],
  ));
  console.log();
  const iters = (key: string): string => {
    const l = loopOf(key);
    return `${num(l.iters)} (+${num(l.warm)} warm-up)`;
  };
  const failures = [...failed].filter(([side]) => !("error" in mpi && (side === "tcp" || side === "sm")));
  console.log(targetsLine());
  console.log();
  console.log(footer([
    `Median over ${REPS} reps; each rep runs every loop once per column, alternating OpenMPI TCP → OpenMPI shared memory → Strand (→ raw echo) loop by loop. A loop is one \`mpirun\` / one \`cluster.spmd\` job: a barrier, warm-up iterations, then timed iterations, timed on rank 0 (\`MPI_Wtime\` / \`performance.now()\`). Iterations per job: latency ${iters("lat")}, 1 MiB ${iters("bw1")}, 64 MiB ${iters("bw64")}, allreduce ${iters("ar2")}, bcast ${iters("bc2")}.`,
    `Per rep: latency = p50/p99 of the round trips (rank 0 sends, rank 1 echoes what it received); bandwidth = 2 × size / median round trip (MB = 10^6 bytes, sizes in MiB); collectives = median time of one operation after a barrier (bcast: until a barrier after it returns, so that every rank has the data). Ratios: Strand time / OpenMPI TCP time, or Strand bandwidth / OpenMPI TCP bandwidth; bcast's target is the bandwidth one (≥ 50%, i.e. ≤ 2x the time). Targets are the issue's: allreduce within 1.5x and bandwidth ≥ 50% of OpenMPI over TCP.`,
    "error" in mpi
      ? `OpenMPI: not run (${mpi.error}).`
      : `OpenMPI: ${mpi.version}, \`mpibench.c\` built with \`mpicc -O2\`, run as \`mpirun --oversubscribe -np N\` with \`${MPI_TRANSPORT.tcp.join(" ")}\` (TCP over loopback) or \`${MPI_TRANSPORT.sm.join(" ")}\` (shared memory, the default on this machine). mpirun binds 2 ranks to a core each; 4 ranks oversubscribe the ${CPUS} CPUs and are left unbound.`,
    `Strand, with its defaults and nothing pinned from outside: 2 ranks on \`local({ runners: 2, threads: 1 })\` (rank processes ${twoPids.length > 0 && new Set(twoPids).size === 2 ? "distinct" : `pids ${twoPids.join(",")}`}); 4 ranks on \`local({ runners: 2, threads: 2 })\` with placement [0,0,1,1] (ranks sharing a runner exchange in process; ${new Set(fourPids).size || "?"} processes) and on \`local({ runners: 4, threads: 1 })\` (${new Set(four4Pids).size || "?"} processes), unpinned; the one-runner point-to-point rows use the first, with placement [0,0], in the 4-rank reps (its OpenMPI column is the shared-memory one from the 2-rank reps; the runner put both ranks on one thread in ${sharedProcess.sameThread} of ${sharedProcess.jobs} such jobs, the others on its two threads). ${CPUS} CPUs: every 4-rank row oversubscribes them, on both sides.`,
    `Rank binding (Strand binds each rank's thread to a CPU of its own while its job runs, by default, as mpirun binds; \`--bind none\` / \`local({ bind: "none" })\` turns it off; a bound rank's blocking receive polls, the ring on one runner and the socket across runners (\`STRAND_RANK_POLL=0\` in the environment turns the socket's off: ${process.env.STRAND_RANK_POLL === "0" ? "**off in this run**" : "on in this run"}): CPUs allowed to ranks 0|1|… as each job saw them: ${[...bindings].map(([side, set]) => `${side}: ${[...set].join(", ")}`).join("; ") || "—"}.`,
    `Same-runner targets are the issue's: 8 B round trip ≤ 10 µs, 64 MiB ≥ 2,000 MB/s, also after earlier collectives (the ranks exchange through a shared ring per pair, allocated once per job).`,
    `One-runner rows, the runner processes' own cost per iteration (both runners of that cluster) (median over reps; from /proc, 10 ms CPU ticks; the CPU includes a bound rank's polling while it waits for its peer): ${["lat", "bw1", "bw64", "bw64c"].map((k) => {
      const c = oneRunnerCost.get(k);
      return c === undefined ? `${k} —` : `${k} ${num(median(c.cpuUs), 1)} µs CPU, ${num(median(c.faults), 1)} minor faults`;
    }).join("; ")}. Read beside the wall times: a row slower than another run's at the same CPU and faults per iteration lost its time to something else on the CPUs; more faults per iteration is first-touched memory (huge pages not to be had).`,
    `The machine at the start of this benchmark: ${stateAtStart}; at the end of the 4-rank reps: ${stateAtEnd}.`,
    `Raw reference: this process writes the bytes to a Node \`net\` echo server in another process and waits for all of them to come back (client pinned to CPU 0, server to CPU 1); the echo streams (the server sends back while the client still sends), which a ping-pong of messages cannot. Its latency is the floor of a round trip through Node sockets woken by epoll; OpenMPI's ranks spin on their sockets instead.`,
    ...failures.map(([side, why]) => `**${side} failed: ${why}** (its cells from then on are empty).`),
  ]));
  console.log();
  if (failures.some(([side]) => side.startsWith("strand"))) process.exitCode = 1;
}

/** The issue's cross-runner targets on one line, from the rows above: what a quiet re-run is read for. */
function targetsLine(): string {
  const ratio = (key: string, stat: Stat): number => {
    const s = valueOf(loopOf(key), "strand", stat);
    const t = valueOf(loopOf(key), "tcp", stat);
    return s !== undefined && t !== undefined ? s.med / t.med : Number.NaN;
  };
  const time = (r: number, max: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x (≤ ${max.toFixed(1)}x: ${r <= max ? "met" : "MISSED"})` : "—");
  const rate = (r: number, min: number): string => (Number.isFinite(r) ? `${(100 * r).toFixed(0)}% (≥ ${(100 * min).toFixed(0)}%: ${r >= min ? "met" : "MISSED"})` : "—");
  // The one-runner targets are absolute (the issue's): the figure over its target, so the line reads as the others do.
  const own = (key: string, stat: Stat, goal: number): string => {
    const v = valueOf(loopOf(key), "strand1", stat)?.med;
    if (v === undefined) return "—";
    const rateStat = stat.kind === "rate";
    const met = rateStat ? v >= goal : v <= goal;
    return `${num(v, rateStat ? 0 : 1)} ${rateStat ? "MB/s" : "µs"} = ${(v / goal).toFixed(2)}x the target (${rateStat ? "≥" : "≤"} ${num(goal, 0)}: ${met ? "met" : "MISSED"})`;
  };
  return `**Targets, Strand on 2 runners against OpenMPI TCP:** allreduce of 2^20 doubles on 2 ranks ${time(ratio("ar2", ms), 1.5)}; `
    + `1 MiB ping-pong bandwidth ${rate(ratio("bw1", pingPongRate(MiB)), 0.5)}; 64 MiB ${rate(ratio("bw64", pingPongRate(64 * MiB)), 0.5)}.\n\n`
    + `**Targets, 2 ranks on one runner:** 8 B round trip p50 ${own("lat", p50, 10)}; 64 MiB ping-pong ${own("bw64", pingPongRate(64 * MiB), 2000)}; `
    + `after collectives ${own("bw64c", pingPongRate(64 * MiB), 2000)}.`;
}

function progressLine(loops: readonly Loop[]): string {
  return loops.map((l) => {
    const last = (side: Side): string => {
      const us = times.get(l.key)?.get(side)?.at(-1);
      return us === undefined ? "—" : `${num(median(us), 0)}`;
    };
    return `${l.key} µs median strand ${last("strand")} tcp ${last("tcp")} sm ${last("sm")}`;
  }).join("; ");
}

await main();
