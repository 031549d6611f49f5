// Actors against their same-run references, on a `local()` cluster with its defaults
// (unpinned, as a user runs it):
//   1. round trip of a no-op method call vs a no-op plain remote call vs a raw TCP echo;
//   2. throughput of small method calls to one actor and to 64 actors vs plain calls;
//   3. spawn rate for 10,000 actors, memory per idle actor on a runner, and kill rate.
// Configurations alternate within each rep so that CPU noise hits them all alike.
import { readFileSync } from "node:fs";
import { local, type RemoteActor } from "../src/index.ts";
import { footer, median, num, percentile, processCpuUs, progress, quick, ratio, reps, spread, table } from "./common.ts";
import { EchoClient, startEchoServer } from "./raw-echo.ts";
import { collectedHeap } from "./fixtures/actor-counter.ts";
import type { Idle } from "./fixtures/actor-counter.ts";

type M = typeof import("./fixtures/actor-counter.ts");

const RTT_REPS = reps(7, 2);
const RTT_CALLS = quick ? 500 : 2000;
const RTT_WARMUP = quick ? 500 : 2000;
const TPUT_REPS = reps(5, 2);
const TPUT_CALLS = quick ? 5_000 : 20_000;
const SPREAD_ACTORS = 64;
const SPAWN_REPS = reps(3, 2);
const SPAWN_ACTORS = quick ? 1_000 : 10_000;
const MESSAGE_BYTES = 64;

interface Latency {
  p50: number;
  p99: number;
}

/** Runs `call` sequentially `n` times; p50 and p99 in microseconds. */
async function latency(n: number, call: () => Promise<unknown>): Promise<Latency> {
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    lat[i] = (performance.now() - t0) * 1000;
  }
  lat.sort();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

interface Throughput {
  callsPerSec: number;
  /** CPU µs per call: this process, and the runner processes summed. */
  driverUs: number;
  runnerUs: number;
}

/** `n` calls made all at once and awaited together: calls per second and CPU per call. */
async function throughput(n: number, runnerPids: readonly number[], call: (i: number) => Promise<unknown>): Promise<Throughput> {
  const c0 = process.cpuUsage();
  const r0 = runnerPids.reduce((s, p) => s + processCpuUs(p), 0);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => call(i)));
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const r = runnerPids.reduce((s, p) => s + processCpuUs(p), 0) - r0;
  return { callsPerSec: (n / ms) * 1000, driverUs: (c.user + c.system) / n, runnerUs: r / n };
}

/** Resident set of a process in bytes (VmRSS: all its threads, actor threads included). */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? Number.NaN : Number(m[1]) * 1024;
}

async function main(): Promise<void> {
  await using server = await startEchoServer();
  const echo = await EchoClient.connect(server.port);
  const message = new Uint8Array(MESSAGE_BYTES).fill(7);

  await using cluster = await local();
  const m = await cluster.import<M>(new URL("./fixtures/actor-counter.ts", import.meta.url));
  const pids = cluster.runners.map((r) => r.pid);
  const shape = `${cluster.runners.length} runners × ${cluster.runners[0]!.threads} thread${cluster.runners[0]!.threads === 1 ? "" : "s"}`;

  // --- 1. Round trip.
  const counter = await m.Counter.spawn();
  const rtt = {
    raw: { run: () => echo.roundTrip(message), reps: [] as Latency[] },
    plain: { run: () => m.noop(), reps: [] as Latency[] },
    actor: { run: () => counter.noop(), reps: [] as Latency[] },
    actorArg: { run: () => counter.add(1), reps: [] as Latency[] },
  };
  type RttKey = keyof typeof rtt;
  const rttKeys = Object.keys(rtt) as RttKey[];
  progress(`actors: rtt warm-up (${RTT_WARMUP} calls each), ${shape}`);
  for (const k of rttKeys) await latency(RTT_WARMUP, rtt[k].run);
  for (let r = 0; r < RTT_REPS; r++) {
    for (const k of rttKeys) rtt[k].reps.push(await latency(RTT_CALLS, rtt[k].run));
    progress(`actors rtt rep ${r + 1}/${RTT_REPS}: p50 ${rttKeys.map((k) => `${k} ${rtt[k].reps.at(-1)!.p50.toFixed(1)}`).join(", ")} µs`);
  }
  echo.close();
  const lat = (k: RttKey, f: keyof Latency): number => median(rtt[k].reps.map((x) => x[f]));
  const perRep = (k: RttKey, over: RttKey, f: keyof Latency): number[] => rtt[k].reps.map((x, i) => x[f] / rtt[over].reps[i]![f]);
  const rttRow = (name: string, k: RttKey): string[] => [
    name, num(lat(k, "p50"), 1), spread(rtt[k].reps.map((x) => x.p50), 1), num(lat(k, "p99"), 1),
    ratio(lat(k, "p50") / lat("plain", "p50")), spread(perRep(k, "plain", "p50"), 2), ratio(lat(k, "p50") / lat("raw", "p50")),
  ];
  console.log(`## Actors\n`);
  console.log(`### Method call round trip vs plain call vs raw TCP echo\n`);
  console.log(table(
    ["", "p50 µs (median)", "p50 range", "p99 µs (median)", "p50 / plain", "per-rep p50 / plain", "p50 / raw"],
    [
      rttRow("raw TCP echo (floor)", "raw"),
      rttRow("plain remote call `noop()` (peer)", "plain"),
      rttRow("**actor method `c.noop()`**", "actor"),
      rttRow("actor method `c.add(1)`", "actorArg"),
    ],
  ));
  console.log();
  console.log(footer([
    `Median over ${RTT_REPS} reps of ${num(RTT_CALLS)} sequential awaited calls each, after ${num(RTT_WARMUP)} warm-up calls; reps alternate the rows in the order shown. Target: actor p50 ≤ 1.1x the plain call's.`,
    `Per-rep p99 / plain: actor \`noop()\` ${spread(perRep("actor", "plain", "p99"), 2)}; p99 range over reps: plain ${spread(rtt.plain.reps.map((x) => x.p99), 0)} µs, actor ${spread(rtt.actor.reps.map((x) => x.p99), 0)} µs.`,
    `Cluster: \`local()\` defaults (${shape}), unpinned. Raw: a ${MESSAGE_BYTES}-byte message to a \`net\` echo server in a child process on 127.0.0.1, noDelay (bench/raw-echo.ts).`,
  ]));
  console.log();

  // --- 2. Throughput.
  const many = await Promise.all(Array.from({ length: SPREAD_ACTORS }, () => m.Counter.spawn()));
  const where = new Map<number, number>();
  for (const p of await Promise.all(many.map((a) => a.pid()))) where.set(p, (where.get(p) ?? 0) + 1);
  const spreadText = pids.map((p) => where.get(p) ?? 0).join(" + ");
  const tput = {
    plain: { name: "plain remote calls `noop()` (peer)", run: () => throughput(TPUT_CALLS, pids, () => m.noop()), reps: [] as Throughput[] },
    one: { name: "**1 actor, `c.noop()`**", run: () => throughput(TPUT_CALLS, pids, () => counter.noop()), reps: [] as Throughput[] },
    spread: {
      name: `**${SPREAD_ACTORS} actors (${spreadText} per runner), \`a[i % ${SPREAD_ACTORS}].noop()\`**`,
      run: () => throughput(TPUT_CALLS, pids, (i) => many[i % SPREAD_ACTORS]!.noop()), reps: [] as Throughput[],
    },
  };
  type TputKey = keyof typeof tput;
  const tputKeys = Object.keys(tput) as TputKey[];
  progress(`actors: throughput warm-up`);
  for (const k of tputKeys) await tput[k].run();
  for (let r = 0; r < TPUT_REPS; r++) {
    for (const k of tputKeys) tput[k].reps.push(await tput[k].run());
    progress(`actors throughput rep ${r + 1}/${TPUT_REPS}: ${tputKeys.map((k) => `${k} ${num(tput[k].reps.at(-1)!.callsPerSec)}`).join(", ")} calls/s`);
  }
  await Promise.all(many.map((a) => a.kill()));
  const cps = (k: TputKey): number[] => tput[k].reps.map((x) => x.callsPerSec);
  const perRepT = (k: TputKey): number[] => tput[k].reps.map((x, i) => x.callsPerSec / tput.plain.reps[i]!.callsPerSec);
  console.log(`### Throughput of small method calls: ${num(TPUT_CALLS)} calls at once\n`);
  console.log(table(
    ["", "calls/s (median)", "range over reps", "/ plain", "per-rep / plain", "driver CPU µs/call", "runner CPU µs/call"],
    tputKeys.map((k) => [
      tput[k].name, num(median(cps(k))), spread(cps(k)), ratio(median(cps(k)) / median(cps("plain"))), spread(perRepT(k), 2),
      num(median(tput[k].reps.map((x) => x.driverUs)), 1), num(median(tput[k].reps.map((x) => x.runnerUs)), 1),
    ]),
  ));
  console.log();
  console.log(footer([
    `Median over ${TPUT_REPS} reps; each rep runs every row once, in the order shown: \`Promise.all\` over ${num(TPUT_CALLS)} calls made at once.`,
    `One actor runs its calls one at a time on one actor thread of one runner; plain calls spread over both runners' threads. The ${SPREAD_ACTORS} actors were placed by \`spawn()\` (fewest actors per thread), on ${spreadText} per runner. CPU: this process, and both runner processes summed (all threads, /proc, 10 ms ticks).`,
  ]));
  console.log();

  // --- 3. Spawn rate, memory per idle actor, kill rate.
  // The actor threads start at a runner's first spawn (the Counter above, and the 64): their
  // cost is not an idle actor's. A probe actor on each runner reads its thread's heap after a
  // full GC; the idle actors on the probes' threads (runner stats say which thread each is on)
  // are what that heap grew by. RSS is read too, coarser (all threads, garbage included).
  const probes = await Promise.all(cluster.runners.map((l) => m.HeapProbe.spawn.with({ runner: l.address })()));
  const probeHeaps = (): Promise<{ thread: number; bytes: number }[]> => Promise.all(probes.map((p) => p.heap()));
  interface SpawnRep { spawnPerSec: number; killPerSec: number; heapPerActor: number; rssPerActor: number; driverPerActor: number; perRunner: string }
  const spawnReps: SpawnRep[] = [];
  progress(`actors: spawn warm-up`);
  await Promise.all((await Promise.all(Array.from({ length: 200 }, () => m.Idle.spawn()))).map((a) => a.kill()));
  for (let r = 0; r < SPAWN_REPS; r++) {
    const heap0 = await probeHeaps();
    const rss0 = pids.map(rssOf);
    const driver0 = collectedHeap();
    let t0 = performance.now();
    const idle: RemoteActor<Idle>[] = await Promise.all(Array.from({ length: SPAWN_ACTORS }, () => m.Idle.spawn()));
    const spawnMs = performance.now() - t0;
    const driver1 = collectedHeap();
    const heap1 = await probeHeaps();
    const rss1 = pids.map(rssOf);
    const stats = await cluster.runnerStats();
    const idleStats = stats.flatMap((s) => (s.actors ?? []).filter((a) => a.className === "Idle"));
    const onProbed = idleStats.filter((a) => heap1.some((h) => h.thread === a.thread)).length;
    const perRunner = stats.map((s) => (s.actors ?? []).filter((a) => a.className === "Idle").length).join(" + ");
    t0 = performance.now();
    await Promise.all(idle.map((a) => a.kill()));
    const killMs = performance.now() - t0;
    spawnReps.push({
      spawnPerSec: (SPAWN_ACTORS / spawnMs) * 1000,
      killPerSec: (SPAWN_ACTORS / killMs) * 1000,
      heapPerActor: heap1.reduce((s, h, i) => s + h.bytes - heap0[i]!.bytes, 0) / onProbed,
      rssPerActor: rss1.reduce((s, x, i) => s + x - rss0[i]!, 0) / SPAWN_ACTORS,
      driverPerActor: (driver1 - driver0) / SPAWN_ACTORS,
      perRunner,
    });
    const last = spawnReps.at(-1)!;
    progress(`actors spawn rep ${r + 1}/${SPAWN_REPS}: ${num(last.spawnPerSec)} spawns/s, ${num(last.killPerSec)} kills/s, heap ${num(last.heapPerActor)} B/actor, RSS ${num(last.rssPerActor)} B/actor, driver ${num(last.driverPerActor)} B/handle (${perRunner})`);
  }
  await Promise.all(probes.map((p) => p.kill()));
  const col = (f: Exclude<keyof SpawnRep, "perRunner">): number[] => spawnReps.map((x) => x[f]);
  const row = (name: string, f: Exclude<keyof SpawnRep, "perRunner">): string[] => [name, num(median(col(f))), spread(col(f))];
  console.log(`### Spawn rate and memory: ${num(SPAWN_ACTORS)} actors\n`);
  console.log(table(
    ["", "median", "range over reps"],
    [
      row("**actors spawned / s** (all at once)", "spawnPerSec"),
      row("**runner heap per idle actor (bytes)**, after GC", "heapPerActor"),
      row("runner RSS growth per idle actor (bytes)", "rssPerActor"),
      row("driver heap per live actor handle (bytes), after GC", "driverPerActor"),
      row("actors killed / s (all at once)", "killPerSec"),
    ],
  ));
  console.log();
  console.log(footer([
    `${SPAWN_REPS} reps, after a warm-up of 200 spawns and kills: \`Promise.all\` over ${num(SPAWN_ACTORS)} \`Idle.spawn()\` (an empty class), then \`kill()\` of all of them. Placed per runner: ${spawnReps.map((x) => x.perRunner).join(", ")}.`,
    "Runner heap: a `HeapProbe` actor on each runner forces a full GC on its actor thread and reads `v8.getHeapStatistics().used_heap_size` before the spawns and once they have all answered; the growth, summed, over the idle actors on the probes' threads (runner stats say each actor's thread). It is what the runner keeps per actor: instance, mailbox, its records, minus the bundle and thread, which exist before.",
    "RSS: the runner processes' VmRSS (/proc/<pid>/status, all threads) summed over both runners, before and after, over the actors spawned: coarse (heap the runtime grew and has not returned, garbage in the main thread); later reps reuse heap freed by the earlier reps' kills and read lower.",
    "Driver heap: this process's heap after a full GC, before and after, over the actors spawned: an owner's record, handle proxy and bookkeeping per actor.",
  ]));
  console.log();
  await counter.kill();
}

await main();
