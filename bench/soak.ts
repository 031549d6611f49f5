// Soak: for N minutes, mixed work on a local cluster of runner processes — plain calls,
// echoes of random values, f.ref() chains and put() objects passed as Refs, channels
// (runner -> driver and runner -> runner), small SPMD jobs — while a runner is SIGKILLed
// (or frozen with SIGSTOP) every few seconds and restarted on its address. One driver lives
// through it all: it must notice each loss and rejoin each restarted runner. Every result
// that arrives is checked: typed Strand errors are allowed, wrong values never, and an
// operation still pending 30 s after its round ended counts as hung.
//
//   npx tsx bench/soak.ts [--minutes 10] [--runners 3] [--workers 8] [--seed 1]
//   (NODE_OPTIONS=--expose-gc adds the driver's live heap after each round to the report)
//
// Not part of `npm test` or `npm run bench`. Exits 1 on any wrong result, hang or untyped error.
import type { ChildProcess } from "node:child_process";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { pino } from "pino";
import { startLocalRunners, stopProcess } from "../src/driver/local.ts";
import { Cluster, StrandError, type Remote, type RunnerEvent } from "../src/index.ts";
import { num, progress, table } from "./common.ts";

type M = typeof import("./fixtures/soak.ts");

const { values: flags } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    runners: { type: "string", default: "3" },
    workers: { type: "string", default: "8" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
    quick: { type: "boolean", default: false }, // accepted for symmetry with the benchmarks
  },
});
const MINUTES = Number(flags.minutes);
const RUNNERS = Number(flags.runners);
const WORKERS = Number(flags.workers);
const SEED = Number(flags.seed);
/** How long a round's operations may take to settle after it ends before they count as hung. */
const HANG_MS = 30_000;

/** mulberry32: a seeded generator, so a run's choices (not its timing) can be replayed. */
let rngState = SEED >>> 0;
function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A result that differs from what the arguments determine. */
class WrongResult extends Error {}
function expectEqual(kind: string, actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new WrongResult(`${kind}: got ${String(actual).slice(0, 80)}, expected ${String(expected).slice(0, 80)}`);
  }
}

/** A random value of the kinds calls carry, sometimes with a binary big enough to be an attachment. */
function randomValue(depth = 0): unknown {
  switch (int(0, depth > 2 ? 4 : 7)) {
    case 0: return int(-1e9, 1e9);
    case 1: return random() * 1e6;
    case 2: return "s".repeat(int(0, 40)) + String(int(0, 1e6));
    case 3: return random() < 0.5 ? null : random() < 0.5;
    case 4: return new Float64Array(random() < 0.2 ? int(2048, 8192) : int(0, 16)).map(() => random());
    case 5: return Array.from({ length: int(0, 4) }, () => randomValue(depth + 1));
    case 6: return Object.fromEntries(Array.from({ length: int(0, 4) }, (_, i) => [`k${i}`, randomValue(depth + 1)]));
    default: return new Map(Array.from({ length: int(0, 3) }, (_, i) => [i, randomValue(depth + 1)]));
  }
}

interface Ctx {
  cluster: Cluster;
  m: Remote<M>;
}

const OPS = {
  async call({ m }: Ctx): Promise<void> {
    const a = int(-1e6, 1e6);
    const b = int(-1e6, 1e6);
    expectEqual("add", await m.add(a, b), a + b);
  },
  async echo({ m }: Ctx): Promise<void> {
    const v = randomValue();
    expectEqual("echo", await m.echo(v), v);
  },
  /** A task chain kept on the runners: fill -> scale -> sum (lineage remakes lost links). */
  async refs({ cluster, m }: Ctx): Promise<void> {
    const x = int(1, 9);
    const filled = m.fill.ref(50_000, x);
    const scaled = m.scale.ref(filled, 3);
    try {
      expectEqual("refs sum", await m.sum(scaled), 150_000 * x);
      if (random() < 0.2) expectEqual("refs get", (await cluster.get(filled))[49_999], x);
    } finally {
      filled.release();
      scaled.release();
    }
  },
  /** A put object read by a call: ObjectLostError if its runner dies (puts have no lineage). */
  async put({ cluster, m }: Ctx): Promise<void> {
    const v = new Float64Array(30_000).map(() => int(0, 100));
    const ref = await cluster.put(v);
    try {
      expectEqual("put sum", await m.sum(ref), v.reduce((s, x) => s + x, 0));
    } finally {
      ref.release();
    }
  },
  /** A goroutine produces 1..n into a channel; the driver or another goroutine sums it. */
  async chan({ cluster, m }: Ctx): Promise<void> {
    const n = int(20, 200);
    const ch = cluster.chan<number>(int(0, 16));
    const produced = m.produce(ch, n);
    produced.catch(() => {}); // awaited below, unless the receiving side failed first
    let total: number;
    if (random() < 0.5) {
      total = await m.consume(ch);
    } else {
      total = 0;
      for await (const v of ch) total += v;
    }
    expectEqual("chan sum", total, (n * (n + 1)) / 2);
    expectEqual("chan produced", await produced, n);
  },
  async spmd({ cluster, m }: Ctx): Promise<void> {
    const size = int(2, 3);
    const seed = int(0, 1000);
    const results = await cluster.spmd(size, m.ring, seed);
    const total = size * seed + (size * (size - 1)) / 2;
    expectEqual("spmd", results, results.map((_, r) => [total, ((r + size - 1) % size) * 1000 + seed]));
  },
} satisfies Record<string, (c: Ctx) => Promise<void>>;
type Kind = keyof typeof OPS;
/** How often each operation is picked (plain calls are the bulk, as in real use). */
const WEIGHTS: [Kind, number][] = [["call", 50], ["echo", 15], ["refs", 10], ["put", 8], ["chan", 10], ["spmd", 7]];
function pickKind(): Kind {
  let r = random() * WEIGHTS.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of WEIGHTS) if ((r -= w) < 0) return k;
  return "call";
}

const ok = new Map<Kind, number>();
const typed = new Map<string, number>(); // "ErrorClass (op)" -> count
const untyped = new Map<string, number>();
const wrong: string[] = [];
const hung: string[] = [];
const bump = <K>(map: Map<K, number>, k: K): void => void map.set(k, (map.get(k) ?? 0) + 1);

interface Runner {
  address: string;
  process: ChildProcess;
}

/** A runner on `address`; below the ephemeral port range, so no outgoing connection takes it while it is down. */
async function startRunner(token: string, address = `127.0.0.1:${20_000 + int(0, 11_999)}`): Promise<Runner> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await startLocalRunners({ threads: 1, token }, [address]);
      return { address: r.addresses[0]!, process: r.processes[0]! };
    } catch (err) {
      if (attempt === 20) throw err;
      await sleep(250); // the port is briefly busy (a new address would be a new runner to the driver)
    }
  }
}

/** One round on the long-lived cluster: work, a fault, more work on the others, then settle. */
async function round(ctx: Ctx, pool: Runner[], n: number): Promise<{ victim: number; fault: string }> {
  let stopped = false;
  let abandoned = false;
  const pendingOps: { kind: Kind }[] = [];
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const op = { kind: pickKind() };
      pendingOps.push(op);
      try {
        await OPS[op.kind](ctx);
        if (!abandoned) bump(ok, op.kind);
      } catch (err) {
        if (abandoned) continue;
        if (err instanceof WrongResult) wrong.push(err.message);
        else if (err instanceof StrandError) bump(typed, `${err.name} (${op.kind})`);
        else bump(untyped, `${(err as Error).name}: ${(err as Error).message.slice(0, 100)} (${op.kind})`);
      } finally {
        pendingOps.splice(pendingOps.indexOf(op), 1);
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);

  await sleep(int(2000, 5000));
  const victim = int(0, pool.length - 1);
  const freeze = random() < 0.3; // a frozen runner is found out by heartbeats, a killed one by its socket
  pool[victim]!.process.kill(freeze ? "SIGSTOP" : "SIGKILL");
  await sleep(int(1000, 3000));
  stopped = true;

  const settled = await Promise.race([Promise.all(workers).then(() => true), sleep(HANG_MS).then(() => false)]);
  if (!settled) {
    abandoned = true;
    for (const op of pendingOps) hung.push(`${op.kind} (round ${n})`);
  }
  return { victim, fault: freeze ? "SIGSTOP" : "SIGKILL" };
}

/** The driver's live heap: what a leak would grow (NaN unless node runs with --expose-gc). */
function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return NaN;
  gc();
  return process.memoryUsage().heapUsed;
}

/** Resolves with the milliseconds until `cluster` says `address` joined, or undefined after `ms`. */
function rejoined(cluster: Cluster, address: string, ms: number): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), ms);
    const listener = (e: RunnerEvent): void => {
      if (e.type === "joined" && e.address === address) done(performance.now() - t0);
    };
    const done = (v: number | undefined): void => {
      clearTimeout(timer);
      cluster.off("runner", listener);
      resolve(v);
    };
    cluster.on("runner", listener);
  });
}

async function main(): Promise<number> {
  process.env.STRAND_LOG ??= "error"; // runners warn about every driver connection a fault resets
  const token = `soak-${SEED}`;
  const pool = await Promise.all(Array.from({ length: RUNNERS }, () => startRunner(token)));
  const cluster = await Cluster.create({ runners: pool.map((r) => r.address), token, logger: pino({ level: "silent" }) });
  const ctx: Ctx = { cluster, m: await cluster.import<M>(new URL("./fixtures/soak.ts", import.meta.url)) };
  const t0 = performance.now();
  const end = t0 + MINUTES * 60_000;
  const faults = new Map<string, number>();
  const rejoinMs: number[] = [];
  let notRejoined = 0;
  const rss0 = process.memoryUsage.rss();
  const heap: number[] = [heapAfterGc()];
  let n = 0;
  try {
    while (performance.now() < end) {
      n++;
      const { victim, fault } = await round(ctx, pool, n);
      bump(faults, fault);
      const dead = pool[victim]!;
      dead.process.kill("SIGKILL"); // a frozen one too
      await stopProcess(dead.process);
      const back = rejoined(cluster, dead.address, HANG_MS);
      pool[victim] = await startRunner(token, dead.address);
      const ms = await back;
      if (ms === undefined) notRejoined++;
      else rejoinMs.push(ms);
      heap.push(heapAfterGc());
      const okTotal = [...ok.values()].reduce((a, b) => a + b, 0);
      const typedTotal = [...typed.values()].reduce((a, b) => a + b, 0);
      progress(`soak round ${n}: ${fault} runner ${victim}, ${ms === undefined ? "NOT rejoined" : `rejoined in ${Math.round(ms)} ms`}; so far ${num(okTotal)} ok, ${num(typedTotal)} typed failures, ${wrong.length} wrong, ${hung.length} hung, ${[...untyped.values()].reduce((a, b) => a + b, 0)} untyped`);
    }
  } finally {
    await cluster.close();
    await Promise.all(pool.map((r) => stopProcess(r.process)));
  }
  const rss1 = process.memoryUsage.rss();
  rejoinMs.sort((a, b) => a - b);

  const minutes = (performance.now() - t0) / 60_000;
  const sum = (xs: Iterable<number>): number => [...xs].reduce((a, b) => a + b, 0);
  console.log(`## Soak: ${num(minutes, 1)} minutes, ${RUNNERS} runners, ${n} faults\n`);
  console.log(table(["", "count"], [
    ["operations ok", num(sum(ok.values()))],
    ...[...ok].sort((a, b) => b[1] - a[1]).map(([k, v]): [string, string] => [`  ${k}`, num(v)]),
    ["typed failures", num(sum(typed.values()))],
    ...[...typed].sort((a, b) => b[1] - a[1]).map(([k, v]): [string, string] => [`  ${k}`, num(v)]),
    ["untyped failures", num(sum(untyped.values()))],
    ...[...untyped].map(([k, v]): [string, string] => [`  ${k}`, num(v)]),
    ["**wrong results**", `**${wrong.length}**`],
    ["hung operations", num(hung.length)],
    ["faults", [...faults].map(([k, v]) => `${v} × ${k}`).join(", ")],
    ["restarted runners rejoined", `${rejoinMs.length} of ${n} (median ${num(rejoinMs[rejoinMs.length >> 1] ?? 0)} ms after the restart began, max ${num(rejoinMs.at(-1) ?? 0)} ms)`],
    ["driver RSS start → end", `${num(rss0 / 2 ** 20)} → ${num(rss1 / 2 ** 20)} MiB`],
    ["driver heap after a full GC: start, middle, end", heap.some(Number.isNaN) ? "(run node with --expose-gc)" : [heap[0]!, heap[heap.length >> 1]!, heap.at(-1)!].map((b) => `${num(b / 2 ** 20, 1)} MiB`).join(", ")],
  ]));
  console.log();
  for (const w of wrong.slice(0, 10)) console.log(`- wrong: ${w}`);
  for (const h of hung.slice(0, 10)) console.log(`- hung: ${h}`);
  console.log(`- Seed ${SEED}, ${WORKERS} concurrent workers; one driver throughout; each round: 2-5 s of work, a fault (SIGKILL, or SIGSTOP 3 times in 10), 1-3 s more work on the others, then the victim is restarted on its address and the driver must rejoin it.`);
  return wrong.length === 0 && hung.length === 0 && untyped.size === 0 && notRejoined === 0 ? 0 : 1;
}

process.exitCode = await main();
