// The parameter server's arithmetic: logistic regression by full-batch gradient descent over
// data split into shards. No Strand imports, so the baseline (one thread of the driver) and
// the workers and the server actor (on the runners) run the very same code.
//
// Each shard's examples are drawn from its own mulberry32 stream (seeded by the shard index),
// so a shard is fixed by (index, rows, features) and is made where it is used: no data
// travels. The labels come from a fixed "true" weight vector plus noise, so the model has
// something to learn and its loss must fall.

/** Rows of shard `index` when n rows are split over `shards`: sizes differ by at most one. */
export function shardRows(n: number, shards: number, index: number): number {
  return Math.floor(((index + 1) * n) / shards) - Math.floor((index * n) / shards);
}

/** A shard: `rows` examples of `features` features (row-major) and their 0/1 labels. */
export interface Shard {
  rows: number;
  features: number;
  x: Float64Array;
  y: Float64Array;
}

/** mulberry32: a small, fast PRNG; uniform in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The weights the labels are drawn from: the same for every shard. */
function trueWeights(features: number): Float64Array {
  const rand = prng(0x5eed);
  return Float64Array.from({ length: features }, () => 4 * rand() - 2);
}

export function makeShard(index: number, rows: number, features: number): Shard {
  const rand = prng(Math.imul(index + 1, 0x9e3779b9));
  const w = trueWeights(features);
  const x = new Float64Array(rows * features);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let j = 0; j < features; j++) {
      const v = 2 * rand() - 1;
      x[i * features + j] = v;
      z += v * w[j]!;
    }
    // Logistic noise: the label is 1 with probability sigmoid(z), so no model is perfect.
    y[i] = rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { rows, features, x, y };
}

/** A shard's gradient of the summed log loss at `w`, and the summed loss itself. */
export interface Gradient {
  grad: Float64Array;
  loss: number;
  rows: number;
}

/** One pass over the shard: O(rows * features), the whole cost of a step. */
export function gradient(w: Float64Array, s: Shard): Gradient {
  const { rows, features, x, y } = s;
  const grad = new Float64Array(features);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * features;
    let z = 0;
    for (let j = 0; j < features; j++) z += x[o + j]! * w[j]!;
    const p = 1 / (1 + Math.exp(-z));
    const yi = y[i]!;
    // log(1 + e^z) - y z, computed without overflow.
    loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - yi * z;
    const e = p - yi;
    for (let j = 0; j < features; j++) grad[j]! += e * x[o + j]!;
  }
  return { grad, loss, rows };
}

/**
 * One step: the shards' gradients summed in shard order (so any run that sums them in this
 * order gets the same bits), averaged over all rows, and applied. Returns the mean loss at
 * the weights the gradients were taken at.
 */
export function applyStep(w: Float64Array, grads: readonly Gradient[], rate: number): number {
  let rows = 0;
  let loss = 0;
  const sum = new Float64Array(w.length);
  for (const g of grads) {
    rows += g.rows;
    loss += g.loss;
    for (let j = 0; j < sum.length; j++) sum[j]! += g.grad[j]!;
  }
  for (let j = 0; j < w.length; j++) w[j]! -= (rate * sum[j]!) / rows;
  return loss / rows;
}

/**
 * What a shard pushes for one round of `localSteps` steps of gradient descent on its own data
 * from w, as a gradient. With one local step it is the shard's gradient at w: synchronous
 * gradient descent, every shard's gradient summed before each update. With more, the shard
 * takes its steps alone (each on its own rows' mean gradient, as the global step uses all
 * rows' mean) and pushes rows * (w - its local weights) / rate: the gradient that moves w to
 * the shard's local model in one step, so the server's update (applyStep) sets w to the
 * shards' local models averaged, weighted by rows (local SGD, or model averaging: a different
 * algorithm from synchronous gradient descent, with one exchange a round instead of one a
 * step). The loss is the shard's at w, so the history is the global loss before each round.
 */
export function localGradient(w: Float64Array, s: Shard, localSteps: number, rate: number): Gradient {
  const first = gradient(w, s);
  if (localSteps === 1) return first;
  const local = w.slice();
  let g = first;
  for (let k = 1; ; k++) {
    for (let j = 0; j < local.length; j++) local[j]! -= (rate * g.grad[j]!) / s.rows;
    if (k === localSteps) break;
    g = gradient(local, s);
  }
  const grad = Float64Array.from(local, (v, j) => ((w[j]! - v) * s.rows) / rate);
  return { grad, loss: first.loss, rows: s.rows };
}

/** What a training run yields: the final weights and the mean loss before each step. */
export interface Trained {
  weights: Float64Array;
  losses: number[];
}

/**
 * The whole training in one thread: the single-process baseline. `steps` updates of the
 * weights, each after every shard's `localSteps` steps (localGradient) in shard order.
 */
export function trainLocal(n: number, shards: number, features: number, steps: number, rate: number, localSteps = 1): Trained {
  const data = Array.from({ length: shards }, (_, i) => makeShard(i, shardRows(n, shards, i), features));
  const w = new Float64Array(features);
  const losses: number[] = [];
  for (let t = 0; t < steps; t++) losses.push(applyStep(w, data.map((s) => localGradient(w, s, localSteps, rate)), rate));
  return { weights: w, losses };
}
