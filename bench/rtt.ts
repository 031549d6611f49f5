// Round-trip latency of a no-op remote call (sequential, each awaited) against the raw
// floor: a small message echoed by a plain Node TCP server in another process.
// Both run in this process, reps alternating, so CPU frequency and sleep states hit
// both sides alike. Also shown, for reference: the same echo server passing each
// message through a piscina worker thread before echoing it, i.e. the network floor
// plus the one thread hop a runner makes per call.
import { local } from "../src/index.ts";
import { footer, median, num, percentile, pinClientAndServers, processCpuUs, progress, quick, ratio, reps, spread, table } from "./common.ts";
import { EchoClient, startEchoServer } from "./raw-echo.ts";

const REPS = reps(5, 2);
const CALLS = quick ? 500 : 2000;
const WARMUP = quick ? 500 : 2000;
const MESSAGE_BYTES = 64;

interface Rep {
  p50: number;
  p99: number;
  mean: number;
}

/** CPU µs spent, summed over all reps: this process, and the remote side's processes. */
interface Cpu {
  local: number;
  remote: number;
}

/** Runs `call` sequentially `n` times; latencies in microseconds. Adds CPU time to `cpu`. */
async function measure(n: number, call: () => Promise<unknown>, cpu?: Cpu, remotePids: readonly number[] = []): Promise<Rep> {
  const lat = new Float64Array(n);
  const c0 = process.cpuUsage();
  const r0 = remotePids.reduce((s, p) => s + processCpuUs(p), 0);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    lat[i] = (performance.now() - t0) * 1000;
  }
  if (cpu !== undefined) {
    const c = process.cpuUsage(c0);
    cpu.local += c.user + c.system;
    cpu.remote += remotePids.reduce((s, p) => s + processCpuUs(p), 0) - r0;
  }
  const total = lat.reduce((s, x) => s + x, 0);
  lat.sort();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), mean: total / n };
}

async function main(): Promise<void> {
  await using server = await startEchoServer();
  const client = await EchoClient.connect(server.port);
  const message = new Uint8Array(MESSAGE_BYTES).fill(7);
  const raw = (): Promise<void> => client.roundTrip(message);

  await using hopServer = await startEchoServer({ hop: true });
  const hopClient = await EchoClient.connect(hopServer.port);
  const hop = (): Promise<void> => hopClient.roundTrip(message);

  await using workerServer = await startEchoServer({ inWorker: true });
  const workerClient = await EchoClient.connect(workerServer.port);
  const inWorker = (): Promise<void> => workerClient.roundTrip(message);

  await using cluster = await local({ runners: 2, threads: 1 });
  const m = await cluster.import<typeof import("./fixtures/noop.ts")>(new URL("./fixtures/noop.ts", import.meta.url));
  const strand = (): Promise<void> => m.noop();

  // Unpinned by default, as a user runs it (the tail target is for that case); `--pin`
  // puts the client on CPU 0 and every server on CPU 1, so each row pays the same
  // cross-CPU wake-ups (the p50 comparison's old setting).
  const pinned = process.argv.includes("--pin") && pinClientAndServers([server.process.pid!, hopServer.process.pid!, workerServer.process.pid!, ...cluster.runners.map((r) => r.pid)]);
  progress(`rtt: warm-up (${WARMUP} calls each)${pinned ? ", client pinned to CPU 0, servers to CPU 1" : ""}`);
  await measure(WARMUP, raw);
  await measure(WARMUP, hop);
  await measure(WARMUP, inWorker);
  await measure(WARMUP, strand);

  const results = { raw: [] as Rep[], hop: [] as Rep[], inWorker: [] as Rep[], strand: [] as Rep[] };
  const cpu = { raw: { local: 0, remote: 0 }, hop: { local: 0, remote: 0 }, inWorker: { local: 0, remote: 0 }, strand: { local: 0, remote: 0 } };
  const serverPid = [server.process.pid!];
  const hopServerPid = [hopServer.process.pid!];
  const runnerPids = cluster.runners.map((x) => x.pid);
  for (let r = 0; r < REPS; r++) {
    results.raw.push(await measure(CALLS, raw, cpu.raw, serverPid));
    results.hop.push(await measure(CALLS, hop, cpu.hop, hopServerPid));
    results.inWorker.push(await measure(CALLS, inWorker, cpu.inWorker, [workerServer.process.pid!]));
    results.strand.push(await measure(CALLS, strand, cpu.strand, runnerPids));
    const last = (k: keyof typeof results): string => results[k].at(-1)!.p50.toFixed(1);
    progress(`rtt rep ${r + 1}/${REPS}: p50 raw ${last("raw")} µs, raw + hop ${last("hop")} µs, strand ${last("strand")} µs`);
  }
  client.close();
  hopClient.close();
  workerClient.close();

  const med = (k: keyof typeof results, f: keyof Rep): number => median(results[k].map((x) => x[f]));
  const perRep = (f: keyof Rep): number[] => results.strand.map((s, i) => s[f] / results.raw[i]![f]);
  const row = (name: string, k: keyof typeof results): string[] => [
    name, num(med(k, "p50"), 1), num(med(k, "p99"), 1), num(med(k, "mean"), 1),
    ratio(med(k, "p50") / med("raw", "p50")), ratio(med(k, "p99") / med("raw", "p99")),
    num(cpu[k].local / (REPS * CALLS), 1), num(cpu[k].remote / (REPS * CALLS), 1),
  ];
  console.log(`## Round-trip latency: no-op call vs raw TCP echo\n`);
  console.log(table(
    ["", "p50 µs", "p99 µs", "mean µs", "p50 / raw", "p99 / raw", "client CPU µs/call", "server CPU µs/call"],
    [
      row("raw TCP echo (floor)", "raw"),
      row("raw TCP echo + worker-thread hop (reference)", "hop"),
      row("raw TCP echo served on a worker thread (reference)", "inWorker"),
      row("**Strand `noop()`**", "strand"),
    ],
  ));
  console.log();
  console.log(footer([
    `Median over ${REPS} reps of ${num(CALLS)} sequential awaited calls each, after ${num(WARMUP)} warm-up calls; reps alternate raw → raw + hop → raw on a worker thread → Strand in one process.`,
    `**Target (issue 19): no-op p99 ≤ 2x the raw echo's p99, unpinned: Strand p99 ${num(med("strand", "p99"), 1)} µs / raw echo p99 ${num(med("raw", "p99"), 1)} µs = ${ratio(med("strand", "p99") / med("raw", "p99"))}: ${med("strand", "p99") <= 2 * med("raw", "p99") ? "met" : "**missed**"}${pinned ? " (but this run was pinned: --pin)" : ""}.** Per-rep Strand/raw ratio: p50 ${spread(perRep("p50"), 2)}, p99 ${spread(perRep("p99"), 2)}.`,
    `CPU per call, over all reps: client = this process; server = the echo server process, or both runner processes (main thread + worker threads), from /proc in 10 ms ticks.`,
    pinned
      ? "Placement: this process pinned to CPU 0, every server process (echo servers, runners, all their threads) to CPU 1 (taskset), so every row pays the same cross-CPU wake-ups."
      : "Placement: not pinned (the default, as a user runs it; `--pin` pins client and servers to different CPUs): rows may differ by where the scheduler put the threads.",
    `Raw: ${MESSAGE_BYTES}-byte message to a \`net\` echo server in a child process on 127.0.0.1, noDelay on both ends. Raw + hop: the same server, but each message is echoed only after a no-op \`piscina.run()\` on 1 worker thread (piscina defaults, as a runner uses it). Raw on a worker thread: the server and its sockets live on a worker thread of the server process, as they would with one connection per runner thread. Strand: \`local({ runners: 2, threads: 1 })\`, \`noop()\` with no arguments.`,
  ]));
  console.log();
}

await main();
