// A parameter server: an actor holds a model's weights, workers (plain remote functions, one
// per data shard) pull them, compute a gradient on their shard and push it back, and the
// actor averages a step's gradients and applies them. Synchronous data-parallel gradient
// descent of a logistic regression, against the same training in one thread of this process.
// With `localSteps` > 1 (what `npm start` runs) each worker takes that many steps on its shard
// alone between exchanges and the server averages the shards' models (local SGD): a
// different algorithm, which the baseline runs too.
//
// The server sums a step's gradients in shard order, as the baseline does, so the final
// weights must be **bit-identical** to the single-process ones, and the loss must fall.
//
//   npx tsx examples/param-server/main.ts [n ...]     (n training rows; default 200000)
//   npx strand run examples/param-server/main.ts --runners a:7700,b:7700 --token t -- 400000
import type { Cluster } from "../../src/index.ts";
import { exampleMain, importWarm, isMain, repeatTrials, runInWorker, timed, totalThreads, type RepeatOptions, type Row } from "../common.ts";

type Model = typeof import("./model.ts");
type Server = typeof import("./server.ts");
const MODEL = new URL("./model.ts", import.meta.url);
const SERVER = new URL("./server.ts", import.meta.url);

export const PARAM_ROWS = [200_000] as const;
/**
 * The size `npm start` runs: 20,000 rows (16 MB of data, 8 MB a shard) for 200 gradient
 * steps a shard, ~1.5 s in one process. Full-batch gradient descent reads every row each
 * step: at 200,000 rows (160 MB) both the baseline and the shards stream their data from
 * memory every step, and two shards on the 2 cores ran at ~64% of one process's rate each
 * (1.39x; 1.28x at 400,000 rows). At 20,000 rows the data of both sides stays in the VM's
 * 32 MB L3 cache.
 */
export const PARAM_START = 20_000;
/**
 * `npm start` trains by local SGD: 20 rounds of 10 steps on each shard alone, then the
 * shards' models averaged (localGradient), where synchronous gradient descent exchanged
 * with the server after every step. At 20,000 rows x 200 synchronous steps the shards'
 * threads used ~820 ms of CPU each against ~1,500 ms for the baseline (1.8x), yet the wall
 * time gave 0.66-1.3x under load and 0.87x on a quiet machine: every step waited for the
 * slower shard and the actor's round trip (0.2 ms alone, 1-15 ms when a thread was
 * descheduled), 200 times. 20 exchanges instead of 200 for the same 200 gradient steps a
 * shard: a different algorithm, computed the same way by the baseline.
 */
export const PARAM_START_STEPS = 20;
export const PARAM_START_LOCAL_STEPS = 10;
/** Features per row (weights in the model): one step costs 2 * rows * FEATURES multiply-adds. */
export const FEATURES = 100;
export const STEPS = 30;
/** The learning rate: plain gradient descent on the mean log loss. */
export const RATE = 2;

/** What a run of the example checks: the loss fell this much at least (last / first mean loss). */
export const LOSS_DROP = 0.75;

export interface ParamServerOptions extends RepeatOptions {
  /** Data shards, one worker each (default and most: one per runner thread). */
  shards?: number;
  /** Updates of the server's weights, one exchange with every worker each (default STEPS). */
  steps?: number;
  /** Gradient steps each shard takes alone before an exchange (default 1: synchronous gradient descent; more: local SGD). */
  localSteps?: number;
}

/** The training data of `rows` rows (features and label), in MB. */
const mb = (rows: number): string => ((rows * (FEATURES + 1) * 8) / 1e6).toFixed(1);

/**
 * Trains on n rows split into shards, on the cluster (a ParamServer actor and one `train`
 * call per shard) and in one thread of this process; checks that both end with the same
 * weights, bit for bit, and the same loss history, and that the loss fell.
 */
export async function runParamServer(cluster: Cluster, n: number, opts: ParamServerOptions = {}): Promise<Row> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`the number of rows must be a positive integer, got ${n}`);
  const cores = totalThreads(cluster);
  const shards = opts.shards ?? cores;
  // A worker's call lasts the whole training and waits on the server between steps: every one
  // must be running at once, and the cluster runs as many plain calls at once as it has
  // threads (more may wait in the driver for a slot that only a finished worker frees).
  if (!Number.isInteger(shards) || shards < 1 || shards > cores) throw new RangeError(`shards must be an integer from 1 to the cluster's ${cores} threads, got ${shards}`);
  const steps = opts.steps ?? STEPS;
  const localSteps = opts.localSteps ?? 1;
  if (!Number.isInteger(localSteps) || localSteps < 1) throw new RangeError(`localSteps must be a positive integer, got ${localSteps}`);
  // Warm the workers' threads up: code fetch, module load, JIT of the gradient loop.
  const m = await importWarm<Server>(cluster, SERVER, async (s) => {
    await using ps = await s.ParamServer.spawn.with({ maxConcurrency: 2 })(FEATURES, 1, RATE);
    return s.train(ps, 0, 2000, 1, FEATURES, 3, RATE, 2);
  });
  const size = localSteps === 1 ? `${steps} steps` : `${steps} rounds of ${localSteps} local steps`;
  const shape = { example: "param-server", size: `n=${n}, ${shards} shards, ${size}`, cores, work: { amount: (2 * n * FEATURES * steps * localSteps) / 1e9, unit: "GFLOP" } };

  return repeatTrials(shape, opts, async () => {
    const [single, singleMs] = await runInWorker<Model, "trainLocal">(MODEL, "trainLocal", [n, shards, FEATURES, steps, RATE, localSteps], [2000, shards, FEATURES, 3, RATE, localSteps]);
    const [trained, strandMs] = await timed(async () => {
      // A pull waits for its step while the other shards' pushes come in: room for all of them.
      await using ps = await m.ParamServer.spawn.with({ maxConcurrency: 2 * shards })(FEATURES, shards, RATE);
      const rows = await Promise.all(Array.from({ length: shards }, (_, i) => m.train(ps, i, n, shards, FEATURES, steps, RATE, localSteps)));
      return { weights: await ps.weights(), losses: await ps.losses(), rows: rows.reduce((a, b) => a + b, 0) };
    });
    let diff = 0;
    for (let j = 0; j < FEATURES; j++) diff = Math.max(diff, Math.abs(trained.weights[j]! - single.weights[j]!));
    const sameLosses = trained.losses.length === steps && trained.losses.every((l, t) => l === single.losses[t]);
    const first = trained.losses[0]!;
    const last = trained.losses.at(-1)!;
    const ok = diff === 0 && sameLosses && trained.rows === n && last <= LOSS_DROP * first;
    return {
      singleMs, strandMs, ok,
      detail: `data ${mb(n)} MB (${mb(n / shards)} MB a shard); loss ${first.toFixed(4)} → ${last.toFixed(4)}; max |diff| ${diff}; loss history ${sameLosses ? "equal" : "DIFFERS"}`,
    };
  });
}

if (isMain(import.meta.url)) await exampleMain("param-server", "n", PARAM_ROWS, (cluster, n) => runParamServer(cluster, n));
