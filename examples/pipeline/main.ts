// Go's concurrent prime sieve (https://go.dev/play/p/9U22NfrXeq), on Strand.
//
// `generate` sends 2, 3, 4, ... on a channel. The driver takes the first value, a prime p,
// starts a stage `filter(ch, next, p)` that passes on what p does not divide, and reads
// the next prime from `next`; and so on: n primes, n + 1 remote goroutines (each started
// with `.go()`, spread over the runners), n + 1 channels. Every channel lives in this
// driver (its home), so each value a stage sends to the next crosses the network twice:
// stage -> driver -> stage. That is the point of the example: it measures fine-grained
// communication, not computation. The baseline is the same pipeline, the same stage
// functions, on in-process channels in this one thread; the primes are checked against
// a plain sieve of Eratosthenes, and every stage's count against the baseline's.
//
//   npx tsx examples/pipeline/main.ts [n ...]          (n primes; default 100)
//   npx strand run examples/pipeline/main.ts --runners a:7700,b:7700 --token t -- 200
import { select, type Chan, type Cluster, type Goroutine, type RecvResult, type Remote } from "../../src/index.ts";
import { exampleMain, importWarm, isMain, repeatTrials, timed, totalThreads, type RepeatOptions, type Row } from "../common.ts";
import { LocalChan } from "./local-chan.ts";
import { filter, generate, type Stage } from "./sieve.ts";

type Sieve = typeof import("./sieve.ts");
const SIEVE = new URL("./sieve.ts", import.meta.url);

export const PIPELINE_PRIMES = [100] as const;

/** Where the stages run and what their channels are: this thread, or the cluster. */
export interface Runtime {
  chan(): Chan<number>;
  /** Starts a stage without waiting for it (Go's `go`); the promise settles when it returns. */
  generate(out: Chan<number>, limit: number): Promise<Stage>;
  filter(inp: Chan<number>, out: Chan<number>, prime: number): Promise<Stage>;
  /** The driver's receive: throws a stage's error instead of waiting forever if a stage failed. */
  recv(ch: Chan<number>): Promise<RecvResult<number>>;
}

/** The stages as async functions of this thread, on in-process channels. */
export function inProcess(capacity = 0): Runtime {
  return {
    // LocalChan has the methods the stages use; Chan's private field makes the type nominal.
    chan: () => new LocalChan<number>(capacity) as unknown as Chan<number>,
    generate,
    filter,
    recv: (ch) => ch.recv(),
  };
}

/**
 * The stages as goroutines on the cluster, on channels homed in this driver. Go's way of
 * not waiting forever: a `quit` channel, closed when a stage fails, is a second case of
 * every receive the driver makes.
 */
export function onCluster(cluster: Cluster, sieve: Remote<Sieve>, capacity = 0): Runtime {
  const quit = cluster.chan<never>();
  let failure: Error | undefined;
  const watch = (g: Goroutine<Stage>): Promise<Stage> => {
    g.result.catch((err: Error) => {
      if (failure !== undefined) return;
      failure = err;
      void quit.close();
    });
    return g.result;
  };
  return {
    chan: () => cluster.chan<number>(capacity),
    generate: (out, limit) => watch(sieve.generate.go(out, limit)),
    filter: (inp, out, prime) => watch(sieve.filter.go(inp, out, prime)),
    recv: async (ch) => {
      const s = await select([{ recv: ch }, { recv: quit }]);
      if (s.index === 1) throw failure!;
      return s.done === true ? { value: undefined, done: true } : { value: s.value as number, done: false };
    },
  };
}

/** An upper bound on the n-th prime: p_n < n (ln n + ln ln n) for n >= 6 (Rosser), and 13 covers n < 6. */
export function primeBound(n: number): number {
  return n < 6 ? 13 : Math.ceil(n * (Math.log(n) + Math.log(Math.log(n))));
}

/** The first n primes by the sieve of Eratosthenes: what the pipeline must print. */
export function firstPrimes(n: number): number[] {
  const limit = primeBound(n);
  const composite = new Uint8Array(limit + 1);
  const primes: number[] = [];
  for (let i = 2; i <= limit && primes.length < n; i++) {
    if (composite[i] === 1) continue;
    primes.push(i);
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return primes;
}

/**
 * The sieve: the first n primes, and what every stage reported (generate first). Go's
 * program exits after the n-th prime; here `generate` stops at a bound on the n-th prime,
 * so once the driver has drained the last channel every stage has returned. If a stage
 * fails, its error is thrown (see `Runtime.recv`).
 */
export async function sievePipeline(rt: Runtime, n: number): Promise<{ primes: number[]; stages: Stage[] }> {
  let ch = rt.chan();
  const stages = [rt.generate(ch, primeBound(n))]; // go generate(ch)
  const primes: number[] = [];
  while (primes.length < n) {
    const r = await rt.recv(ch);
    if (r.done) throw new Error(`the pipeline ended after ${primes.length} primes`);
    primes.push(r.value);
    const next = rt.chan();
    stages.push(rt.filter(ch, next, r.value)); // go filter(ch, next, prime)
    ch = next;
  }
  while (!(await rt.recv(ch)).done); // the primes between the n-th and the bound
  return { primes, stages: await Promise.all(stages) };
}

/** Warms every runner up (code fetch, module load) with a few short pipelines. */
const sieveOn = (cluster: Cluster): Promise<Remote<Sieve>> =>
  importWarm<Sieve>(cluster, SIEVE, (s) => sievePipeline(onCluster(cluster, s), 5));

/**
 * Finds the first n primes through the pipeline in this thread and on the cluster; checks
 * both against a plain sieve and the stages' counts against each other. Repeats while
 * `opts` allow and reports the best times. `capacity`: of every channel (default 0, as in Go's program).
 */
export async function runPipeline(cluster: Cluster, n: number, opts: RepeatOptions & { capacity?: number } = {}): Promise<Row> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`the number of primes must be a positive integer, got ${n}`);
  const capacity = opts.capacity ?? 0;
  const sieve = await sieveOn(cluster);
  const expected = firstPrimes(n);
  const cores = totalThreads(cluster);
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

  // The values sent on channels are fixed by n: count them on an untimed local run (which also warms up the baseline).
  const values = (await sievePipeline(inProcess(capacity), n)).stages.reduce((s, st) => s + st.sent, 0);
  const shape = {
    example: "pipeline", size: `n=${n}${capacity === 0 ? "" : ` cap=${capacity}`}`, cores,
    work: { amount: values / 1000, unit: "kmsg" },
  };
  const row = await repeatTrials(shape, opts, async () => {
    const [local, singleMs] = await timed(() => sievePipeline(inProcess(capacity), n));
    const [dist, strandMs] = await timed(() => sievePipeline(onCluster(cluster, sieve, capacity), n));
    const ok = same(local.primes, expected) && same(dist.primes, expected)
      && same(local.stages.map((s) => s.sent), dist.stages.map((s) => s.sent));
    const perRunner = cluster.runners.map((r) => dist.stages.filter((s) => s.pid === r.pid).length).join("+");
    return {
      singleMs, strandMs, ok,
      // The latency per value is the row's `shows`, from the best run (this detail is the last run's).
      detail: `first ${n} primes ${ok ? "equal" : "DIFFER"} (last ${dist.primes.at(-1)}); ${values} values over ${n + 1} channels; `
        + `stages per runner ${perRunner}`,
    };
  });
  // Not a speedup row: in one thread a hand-over is a few promise reactions, on Strand a
  // value crosses processes. What the row shows is that cost, per value (best run).
  return { ...row, shows: `latency: ${((row.strandMs * 1000) / values).toFixed(0)} µs/value` };
}

if (isMain(import.meta.url)) await exampleMain("pipeline", "n", PIPELINE_PRIMES, (cluster, n) => runPipeline(cluster, n));
