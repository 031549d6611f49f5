// Channels across runners, against raw TCP measured in the same run, reps alternating:
//
// - messages/s: a producer goroutine on one runner sends small values (a number) on a
//   channel, a consumer goroutine on the other runner receives them, at capacities 0, 1,
//   64 and 1024. Floor: a plain Node process streaming the same values as small frames to
//   another over TCP (one `write` per message), which reads and sums them.
// - latency of one round: a ping-pong over two unbuffered channels, runner <-> runner and
//   driver <-> runner. Floor: a small message echoed by a plain TCP server in another
//   process. References: the echo relayed (two echo round trips in a row, which is what a
//   value going runner -> home driver -> runner and back must at least cost) and a no-op
//   remote call.
//
// Rows "through the home driver" use channels made by the driver (cluster.chan): a value from
// one runner to another goes runner -> driver -> runner. Rows "made on a runner" use channels
// made by the receiving goroutine (chan() of strand/runtime): a value goes runner -> runner,
// one hop, and the driver's CPU per message (here) should be about nothing. Nothing asserts
// on timings.
import type { ChildProcess } from "node:child_process";
import net from "node:net";
import { local, type Chan } from "../src/index.ts";
import { footer, median, num, percentile, processCpuUs, progress, quick, ratio, reps, spread, table } from "./common.ts";
import { connectLoopback, EchoClient, startEchoServer, startServer } from "./raw-echo.ts";

type Peer = typeof import("./fixtures/chan-peer.ts");

const REPS = reps(5, 2);
const MESSAGES = quick ? 1000 : 5000; // per Strand row and rep
const RAW_MESSAGES = quick ? 100_000 : 1_000_000;
const ROUNDS = quick ? 300 : 1000; // per latency row and rep
// Unpinned, the first few thousand rounds of every row run slower (the kernel still moving the
// threads between CPUs, the JIT): 500 left the first reps 1.5-2x the last ones.
const WARMUP_ROUNDS = quick ? 200 : 3000;
const CAPACITIES = [0, 1, 64, 1024] as const;
const HOMED_CAPACITIES = [0, 64, 1024] as const;
const ECHO_BYTES = 8;

// ---------------------------------------------------------------- raw floors

interface Child extends AsyncDisposable {
  port: number;
  process: ChildProcess;
}

/** bench/fixtures/frame-sink.ts in a child process, once it listens. */
function startFrameSink(): Promise<Child> {
  return startServer("./fixtures/frame-sink.ts", []);
}

/** A stream of `u32 8 | f64 value` frames, one `write` per message, ended by a 0-length frame; the sink answers count and sum. */
class FrameStream {
  private answer: ((b: Buffer) => void) | undefined;
  private got = Buffer.alloc(0);

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.got = Buffer.concat([this.got, chunk]);
      if (this.got.length >= 12 && this.answer !== undefined) {
        const a = this.answer;
        this.answer = undefined;
        const b = this.got.subarray(0, 12);
        this.got = this.got.subarray(12);
        a(b);
      }
    });
  }

  static async connect(port: number): Promise<FrameStream> {
    return new FrameStream(await connectLoopback(port));
  }

  /** Sends 0..n-1; resolves with what the sink counted once it has read them all. */
  async send(n: number): Promise<{ frames: number; sum: number }> {
    const answer = new Promise<Buffer>((resolve) => (this.answer = resolve));
    for (let i = 0; i < n; i++) {
      const frame = Buffer.allocUnsafe(12);
      frame.writeUInt32LE(8, 0);
      frame.writeDoubleLE(i, 4);
      if (!this.socket.write(frame)) await new Promise((resolve) => this.socket.once("drain", resolve));
    }
    this.socket.write(Buffer.alloc(4)); // end of the run
    const b = await answer;
    return { frames: b.readUInt32LE(0), sum: b.readDoubleLE(4) };
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------- measuring

/** CPU µs of this process and of the given other processes during `f`. */
async function withCpu<T>(pids: readonly number[], f: () => Promise<T>): Promise<{ value: T; ms: number; localUs: number; remoteUs: number }> {
  const c0 = process.cpuUsage();
  const r0 = pids.reduce((s, p) => s + processCpuUs(p), 0);
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, ms, localUs: c.user + c.system, remoteUs: pids.reduce((s, p) => s + processCpuUs(p), 0) - r0 };
}

interface Rate {
  perSec: number;
  localUs: number; // CPU per message
  remoteUs: number;
}

interface Latency {
  p50: number;
  p99: number;
  mean: number;
}

function latencyOf(micros: readonly number[]): Latency {
  const s = Float64Array.from(micros).sort();
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times `rounds` sequential awaited round trips of `f`, in µs. */
async function timeRounds(rounds: number, f: (i: number) => Promise<void>): Promise<number[]> {
  const micros: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await f(i);
    micros.push((performance.now() - t0) * 1000);
  }
  return micros;
}

async function main(): Promise<void> {
  await using sink = await startFrameSink();
  const stream = await FrameStream.connect(sink.port);
  await using echoA = await startEchoServer();
  await using echoB = await startEchoServer();
  const clientA = await EchoClient.connect(echoA.port);
  const clientB = await EchoClient.connect(echoB.port);
  const ping = new Uint8Array(ECHO_BYTES).fill(7);

  await using cluster = await local({ runners: 2, threads: 1 });
  const m = await cluster.import<Peer>(new URL("./fixtures/chan-peer.ts", import.meta.url));
  const runnerPids = cluster.runners.map((r) => r.pid);
  let failures = 0;
  cluster.on("error", () => failures++);

  // ---- messages/s rows
  const expectedSum = (MESSAGES * (MESSAGES - 1)) / 2;
  let apart = 0; // reps whose producer and consumer ran on different runners
  let apartOf = 0;
  const checkSum = (n: number, sum: number, what: string): void => {
    if (n !== MESSAGES || sum !== expectedSum) throw new Error(`${what}: got ${n} values summing to ${sum}, expected ${MESSAGES} summing to ${expectedSum}`);
  };
  const rateOf = (r: { ms: number; localUs: number; remoteUs: number }, n: number): Rate =>
    ({ perSec: n / (r.ms / 1000), localUs: r.localUs / n, remoteUs: r.remoteUs / n });

  const raw = async (n: number): Promise<Rate> => {
    const r = await withCpu([sink.process.pid!], () => stream.send(n));
    if (r.value.frames !== n || r.value.sum !== (n * (n - 1)) / 2) throw new Error(`raw stream: the sink counted ${r.value.frames} frames`);
    return rateOf(r, n);
  };
  /** Producer goroutine on one runner, consumer on the other (the scheduler spreads goroutines by load). */
  const runnerToRunner = async (capacity: number): Promise<Rate> => {
    const ch = cluster.chan<number>(capacity);
    const r = await withCpu(runnerPids, async () => {
      const consumer = m.consume.go(ch);
      const producer = m.produce.go(ch, MESSAGES);
      return Promise.all([producer.result, consumer.result]);
    });
    const [p, c] = r.value;
    checkSum(c.n, c.sum, `capacity ${capacity}`);
    apartOf++;
    if (p.pid !== c.pid) apart++;
    return rateOf(r, MESSAGES);
  };
  let homeApart = 0;
  let homeApartOf = 0;
  /** The consumer makes the channel on its runner; the producer, on the other runner, sends straight to it. */
  const runnerHomed = async (capacity: number): Promise<Rate> => {
    const hand = cluster.chan<Chan<number>>();
    const r = await withCpu(runnerPids, async () => {
      const consumer = m.consumeHere.go(hand, capacity);
      const ch = (await hand.recv()).value!;
      const producer = m.produce.go(ch, MESSAGES);
      return Promise.all([producer.result, consumer.result]);
    });
    const [p, c] = r.value;
    checkSum(c.n, c.sum, `made on a runner, capacity ${capacity}`);
    homeApartOf++;
    if (p.pid !== c.pid) homeApart++;
    return rateOf(r, MESSAGES);
  };
  const driverToRunner = async (capacity: number): Promise<Rate> => {
    const ch = cluster.chan<number>(capacity);
    const r = await withCpu(runnerPids, async () => {
      const consumer = m.consume.go(ch);
      for (let i = 0; i < MESSAGES; i++) await ch.send(i);
      await ch.close();
      return consumer.result;
    });
    checkSum(r.value.n, r.value.sum, "driver -> runner");
    return rateOf(r, MESSAGES);
  };
  const runnerToDriver = async (capacity: number): Promise<Rate> => {
    const ch = cluster.chan<number>(capacity);
    const r = await withCpu(runnerPids, async () => {
      const producer = m.produce.go(ch, MESSAGES);
      let n = 0;
      let sum = 0;
      for await (const v of ch) {
        n++;
        sum += v;
      }
      await producer.result;
      return { n, sum };
    });
    checkSum(r.value.n, r.value.sum, "runner -> driver");
    return rateOf(r, MESSAGES);
  };

  // ---- latency rows
  const rawEcho = (): Promise<number[]> => timeRounds(ROUNDS, () => clientA.roundTrip(ping));
  const rawRelay = (): Promise<number[]> => timeRounds(ROUNDS, async () => {
    await clientA.roundTrip(ping);
    await clientB.roundTrip(ping);
  });
  const noopCall = (): Promise<number[]> => timeRounds(ROUNDS, async () => void (await m.pid()));
  const driverPingPong = async (rounds: number): Promise<number[]> => {
    const there = cluster.chan<number>();
    const back = cluster.chan<number>();
    const pong = m.pong.go(there, back);
    const micros = await timeRounds(rounds, async (i) => {
      await there.send(i);
      const r = await back.recv();
      if (r.done || r.value !== i) throw new Error(`driver ping-pong round ${i}: got ${r.done ? "closed" : r.value}`);
    });
    await there.close();
    await pong.result;
    return micros;
  };
  let pingApart = 0;
  let pingOf = 0;
  const runnerPingPong = async (rounds: number): Promise<number[]> => {
    const there = cluster.chan<number>();
    const back = cluster.chan<number>();
    const pong = m.pong.go(there, back);
    const pinger = m.ping.go(there, back, rounds);
    const [pi, po] = await Promise.all([pinger.result, pong.result]);
    pingOf++;
    if (pi.pid !== po.pid) pingApart++;
    return pi.micros;
  };

  let homePingApart = 0;
  let homePingOf = 0;
  /** Each end's inbox made on its own runner: a value goes straight to the runner that receives it. */
  const runnerHomedPingPong = async (rounds: number): Promise<number[]> => {
    const hand = cluster.chan<Chan<unknown>>();
    const pong = m.pongHere.go(hand);
    const there = (await hand.recv()).value!;
    const pinger = m.pingHere.go(there, rounds);
    const [pi, po] = await Promise.all([pinger.result, pong.result]);
    homePingOf++;
    if (pi.pid !== po.pid) homePingApart++;
    return pi.micros;
  };

  const rates = { raw: [] as Rate[], cap: CAPACITIES.map(() => [] as Rate[]), home: HOMED_CAPACITIES.map(() => [] as Rate[]), d2r: [] as Rate[], r2d: [] as Rate[] };
  const lats = { raw: [] as Latency[], relay: [] as Latency[], call: [] as Latency[], d2r: [] as Latency[], r2r: [] as Latency[], home: [] as Latency[] };

  progress(`chan: warm-up`);
  await raw(RAW_MESSAGES / 10);
  await runnerToRunner(64);
  await runnerHomed(64);
  await driverToRunner(64);
  await runnerToDriver(64);
  apart = apartOf = homeApart = homeApartOf = 0;
  for (let rep = 0; rep < REPS; rep++) {
    rates.raw.push(await raw(RAW_MESSAGES));
    for (let i = 0; i < CAPACITIES.length; i++) rates.cap[i]!.push(await runnerToRunner(CAPACITIES[i]!));
    for (let i = 0; i < HOMED_CAPACITIES.length; i++) rates.home[i]!.push(await runnerHomed(HOMED_CAPACITIES[i]!));
    rates.d2r.push(await driverToRunner(64));
    rates.r2d.push(await runnerToDriver(64));
    progress(`chan messages/s rep ${rep + 1}/${REPS}: raw ${num(rates.raw.at(-1)!.perSec)}, capacity 0 ${num(rates.cap[0]!.at(-1)!.perSec)}, capacity 1024 ${num(rates.cap[3]!.at(-1)!.perSec)}, made on a runner 1024 ${num(rates.home[2]!.at(-1)!.perSec)}`);
  }

  // Unpinned, as a user's program runs (the standard of every figure here): floor and rows
  // alike move between CPUs as the kernel places them, reps alternating.
  await timeRounds(2 * WARMUP_ROUNDS, () => clientA.roundTrip(ping));
  await timeRounds(2 * WARMUP_ROUNDS, () => clientB.roundTrip(ping));
  await timeRounds(2 * WARMUP_ROUNDS, async () => void (await m.pid()));
  await driverPingPong(WARMUP_ROUNDS);
  await runnerPingPong(WARMUP_ROUNDS);
  await runnerHomedPingPong(WARMUP_ROUNDS);
  pingApart = pingOf = homePingApart = homePingOf = 0;
  for (let rep = 0; rep < REPS; rep++) {
    lats.raw.push(latencyOf(await rawEcho()));
    lats.relay.push(latencyOf(await rawRelay()));
    lats.call.push(latencyOf(await noopCall()));
    lats.d2r.push(latencyOf(await driverPingPong(ROUNDS)));
    lats.r2r.push(latencyOf(await runnerPingPong(ROUNDS)));
    lats.home.push(latencyOf(await runnerHomedPingPong(ROUNDS)));
    progress(`chan latency rep ${rep + 1}/${REPS}: p50 raw ${lats.raw.at(-1)!.p50.toFixed(0)} µs, driver<->runner ${lats.d2r.at(-1)!.p50.toFixed(0)} µs, runner<->runner ${lats.r2r.at(-1)!.p50.toFixed(0)} µs, made on runners ${lats.home.at(-1)!.p50.toFixed(0)} µs`);
  }
  stream.close();
  clientA.close();
  clientB.close();

  // ---- tables
  const medRate = (xs: Rate[], k: keyof Rate): number => median(xs.map((x) => x[k]));
  const rawRate = medRate(rates.raw, "perSec");
  const rateRow = (name: string, xs: Rate[], cpuNames: [string, string]): string[] => [
    name, num(medRate(xs, "perSec")), spread(xs.map((x) => x.perSec)), ratio(medRate(xs, "perSec") / rawRate),
    `${num(medRate(xs, "localUs"), 1)} (${cpuNames[0]})`, `${num(medRate(xs, "remoteUs"), 1)} (${cpuNames[1]})`,
  ];
  console.log(`## Channels: small values across runners, and the latency of one round\n`);
  console.log(`### Messages/s: a number at a time, producer goroutine on one runner, consumer on the other\n`);
  console.log(table(
    ["", "msgs/s (median)", "range over reps", "/ raw", "CPU µs/msg here", "CPU µs/msg there"],
    [
      rateRow("raw TCP stream of 12-byte frames, one process to another (floor)", rates.raw, ["this process", "sink"]),
      ...CAPACITIES.map((cap, i) => rateRow(`runner → runner through the home driver, capacity ${cap}`, rates.cap[i]!, ["driver", "runners"])),
      ...HOMED_CAPACITIES.map((cap, i) => rateRow(`**runner → runner, made on the receiving runner, capacity ${cap}**`, rates.home[i]!, ["driver", "runners"])),
      rateRow("driver → runner, capacity 64 (reference)", rates.d2r, ["driver", "runners"]),
      rateRow("runner → driver, capacity 64 (reference)", rates.r2d, ["driver", "runners"]),
    ],
  ));
  console.log();

  const medLat = (xs: Latency[], k: keyof Latency): number => median(xs.map((x) => x[k]));
  const rawP50 = medLat(lats.raw, "p50");
  const rawP99 = medLat(lats.raw, "p99");
  const latRow = (name: string, xs: Latency[]): string[] => [
    name, num(medLat(xs, "p50"), 1), num(medLat(xs, "p99"), 1), num(medLat(xs, "mean"), 1),
    ratio(medLat(xs, "p50") / rawP50), ratio(medLat(xs, "p99") / rawP99),
  ];
  console.log(`### Latency of one round: ping-pong over two unbuffered channels\n`);
  console.log(table(
    ["", "p50 µs", "p99 µs", "mean µs", "p50 / raw", "p99 / raw"],
    [
      latRow(`raw TCP ping-pong of ${ECHO_BYTES} bytes between two processes (floor)`, lats.raw),
      latRow("raw, relayed: two echo round trips in a row, to two servers (reference)", lats.relay),
      latRow("Strand no-op remote call (reference)", lats.call),
      latRow("**driver ↔ runner: send, then receive the echo**", lats.d2r),
      latRow("runner ↔ runner: through the home driver", lats.r2r),
      latRow("**runner ↔ runner: each inbox made on its receiving runner**", lats.home),
    ],
  ));
  console.log();
  const perRepR2R = lats.r2r.map((x, i) => x.p50 / lats.raw[i]!.p50);
  const perRepHome = lats.home.map((x, i) => x.p50 / lats.raw[i]!.p50);
  console.log(footer([
    `Median over ${REPS} reps after a warm-up, in one process: first the messages/s reps (each: the raw stream, the runner → runner capacities in order, the two references), then the latency reps (each: raw, relayed, call, driver ↔ runner, runner ↔ runner).`,
    `Messages/s: ${num(MESSAGES)} numbers per Strand row and rep (\`for (...) await out.send(i)\` in one goroutine, \`for await (const v of inp)\` in the other; the time runs from starting both goroutines until both returned, the consumer's sum checked), ${num(RAW_MESSAGES)} per raw rep. Producer and consumer ran on different runners in ${apart} of ${apartOf} runner → runner runs.`,
    `CPU per message from /proc and process.cpuUsage (10 ms ticks): here = this process (the driver), there = both runner processes (all threads), or the sink process for the raw row.`,
    `Raw stream: this process writes each value as its own frame (\`u32 length | f64\`, one \`socket.write\` per message, waiting for 'drain' when the socket buffers fill) to a \`net\` server in a child process that parses the frames and sums the values, answering at the end of the run.`,
    `Latency: ${num(ROUNDS)} sequential rounds per row and rep, after ${num(WARMUP_ROUNDS)} warm-up rounds. runner ↔ runner: \`ping\` on one runner sends a number and waits for it to come back from \`pong\` on the other, timed on the pinging runner (different runners in ${pingApart} of ${pingOf} runs). driver ↔ runner: the driver pings \`pong\` on a runner. Per-rep runner ↔ runner / raw p50: ${spread(perRepR2R, 2)}. Made on runners: \`pong\` makes its inbox and hands it out; \`ping\` makes its own and sends it as the first value, so each value goes straight to the runner that receives it (different runners in ${homePingApart} of ${homePingOf} runs); per-rep / raw p50: ${spread(perRepHome, 2)}.`,
    `Made on the receiving runner: the consumer goroutine makes the channel (\`chan(capacity)\`) and hands it to the driver, which starts the producer with it; different runners in ${homeApart} of ${homeApartOf} runs. The driver's CPU per message in these rows is what it spends on nothing but the two goroutine calls.`,
    "Placement: nothing pinned, as a user's program runs.",
    `Strand: \`local({ runners: 2, threads: 1 })\`; channels made by \`cluster.chan\` are homed in this driver, those made by \`chan()\` on the runner thread that made them.${failures > 0 ? ` ${failures} goroutine failure(s) reported.` : ""}`,
  ]));
  console.log();
}

await main();
