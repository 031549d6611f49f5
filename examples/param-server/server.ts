// The parameter server and its workers, as they run on the runners.
//
// `ParamServer` is an actor: it holds the weights, hands out version t to whoever asks
// (`pull(t)` waits until step t - 1 has been applied), collects one gradient per shard for
// each step and, when the last arrives, sums them in shard order and applies them
// (synchronous data-parallel SGD, so the result is the single-process result, bit for bit).
// `train` is a plain remote function, one call per shard: it makes its shard, then loops
// gradient → exchange (its gradient for step t in, the weights after step t out: one round
// trip a step), talking to the actor through the handle it was given.
import { applyStep, localGradient, makeShard, shardRows, type Gradient } from "./model.ts";

/** The server's methods a worker uses: a handle to a ParamServer has them. */
export interface Weights {
  pull(step: number): Promise<Float64Array>;
  push(shard: number, step: number, g: Gradient): Promise<void>;
  exchange(shard: number, step: number, g: Gradient): Promise<Float64Array>;
}

export class ParamServer {
  readonly #w: Float64Array;
  readonly #losses: number[] = [];
  /** Gradients of the current step, by shard. */
  #pending: (Gradient | undefined)[];
  #arrived = 0;
  /** Pulls of a version not made yet, by version. */
  readonly #waiting = new Map<number, (() => void)[]>();

  constructor(features: number, private readonly shards: number, private readonly rate: number) {
    this.#w = new Float64Array(features);
    this.#pending = new Array<Gradient | undefined>(shards);
  }

  /** The weights after `step` steps; waits for them if they are not made yet. */
  async pull(step: number): Promise<Float64Array> {
    if (step > this.#losses.length) {
      await new Promise<void>((resolve) => {
        const list = this.#waiting.get(step) ?? [];
        list.push(resolve);
        this.#waiting.set(step, list);
      });
    }
    return this.#w.slice(); // a copy: the reply must not see a later step's update
  }

  /** A shard's gradient for step `step`: the last of a step's gradients applies them all. */
  push(shard: number, step: number, g: Gradient): void {
    if (step !== this.#losses.length) throw new RangeError(`gradient for step ${step} while at step ${this.#losses.length}`);
    if (this.#pending[shard] !== undefined) throw new RangeError(`shard ${shard} pushed twice for step ${step}`);
    this.#pending[shard] = g;
    if (++this.#arrived < this.shards) return;
    this.#losses.push(applyStep(this.#w, this.#pending as Gradient[], this.rate));
    this.#pending = new Array<Gradient | undefined>(this.shards);
    this.#arrived = 0;
    const next = this.#losses.length;
    for (const wake of this.#waiting.get(next) ?? []) wake();
    this.#waiting.delete(next);
  }

  /**
   * push, then pull(step + 1): a worker's whole conversation for a step in one round trip.
   * A push and a pull were two, each a message to the actor and back (a runner's main
   * thread, the actor's thread, possibly a socket): measured at load 14-17, the runner that
   * hosted the actor spent ~1 ms of CPU per step on them (20,000 rows x 300 steps).
   */
  async exchange(shard: number, step: number, g: Gradient): Promise<Float64Array> {
    this.push(shard, step, g);
    return this.pull(step + 1);
  }

  weights(): Float64Array {
    return this.#w.slice();
  }

  losses(): number[] {
    return this.#losses;
  }
}

/**
 * A worker: trains on shard `index` of n rows split over `shards`, for `steps` updates of the
 * server's weights, taking `localSteps` steps on its own shard before each (localGradient;
 * 1: synchronous gradient descent). Returns its rows.
 */
export async function train(server: Weights, index: number, n: number, shards: number, features: number, steps: number, rate: number, localSteps = 1): Promise<number> {
  const shard = makeShard(index, shardRows(n, shards, index), features);
  let w = await server.pull(0);
  for (let t = 0; t < steps; t++) {
    const g = localGradient(w, shard, localSteps, rate);
    if (t === steps - 1) await server.push(index, t, g);
    else w = await server.exchange(index, t, g);
  }
  return shard.rows;
}
