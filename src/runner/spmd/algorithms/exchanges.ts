import type { Group } from "../group.ts";

// Algorithms where every rank talks to a partner that changes each round: dissemination
// barrier, recursive doubling (allreduce of small values, with the usual fold for sizes
// that are not powers of two), the inclusive scan, and all-to-all.

export async function disseminationBarrier(g: Group): Promise<void> {
  for (let k = 1; k < g.size; k <<= 1) {
    await Promise.all([g.send((g.rank + k) % g.size, null), g.recv((g.rank - k + g.size) % g.size)]);
  }
}

/** Allreduce for small values: log2(size) exchange rounds. `combine(a, b)`: a from lower ranks. */
export async function recursiveDoublingAllreduce<T>(g: Group, value: T, combine: (a: T, b: T) => T): Promise<T> {
  const { rank, size } = g;
  let pof2 = 1;
  while (pof2 * 2 <= size) pof2 *= 2;
  const rem = size - pof2;
  let acc = value;
  // The first 2*rem ranks pair up so that pof2 ranks remain: even ones hand their value over.
  let newRank: number;
  if (rank < 2 * rem) {
    if (rank % 2 === 0) {
      await g.send(rank + 1, acc);
      newRank = -1;
    } else {
      acc = combine(await g.recv<T>(rank - 1), acc);
      newRank = rank >> 1;
    }
  } else newRank = rank - rem;
  if (newRank >= 0) {
    for (let mask = 1; mask < pof2; mask <<= 1) {
      const partnerNew = newRank ^ mask;
      const partner = partnerNew < rem ? partnerNew * 2 + 1 : partnerNew + rem;
      const [, x] = await Promise.all([g.send(partner, acc), g.recv<T>(partner)]);
      acc = partner < rank ? combine(x, acc) : combine(acc, x);
    }
  }
  if (rank < 2 * rem) {
    if (rank % 2 === 1) await g.send(rank - 1, acc);
    else acc = await g.recv<T>(rank + 1);
  }
  return acc;
}

/** Inclusive prefix in rank order (MPICH's recursive doubling scan). */
export async function recursiveDoublingScan<T>(g: Group, value: T, combine: (a: T, b: T) => T): Promise<T> {
  let partial = value;
  let result = value;
  for (let mask = 1; mask < g.size; mask <<= 1) {
    const partner = g.rank ^ mask;
    if (partner >= g.size) continue;
    const [, x] = await Promise.all([g.send(partner, partial), g.recv<T>(partner)]);
    if (partner < g.rank) {
      partial = combine(x, partial);
      result = combine(x, result);
    } else partial = combine(partial, x);
  }
  return result;
}

/** Every pair exchanges at once; sends start with the next rank up so that not everyone hits rank 0 first. */
export async function alltoall<T>(g: Group, values: readonly T[]): Promise<T[]> {
  const { rank, size } = g;
  const out = new Array<T>(size);
  out[rank] = values[rank]!;
  const ops: Promise<void>[] = [];
  for (let s = 1; s < size; s++) {
    const to = (rank + s) % size;
    const from = (rank - s + size) % size;
    ops.push(g.send(to, values[to]));
    ops.push(g.recv<T>(from).then((v) => void (out[from] = v)));
  }
  await Promise.all(ops);
  return out;
}

/**
 * Exclusive prefix in rank order: the scan's exchanges, where `result` gathers only what
 * lower ranks sent (rank 0 never gets any: undefined, as MPI leaves it).
 */
export async function recursiveDoublingExscan<T>(g: Group, value: T, combine: (a: T, b: T) => T): Promise<T | undefined> {
  let partial = value;
  let result: T | undefined;
  let has = false; // a function's values may be undefined themselves
  for (let mask = 1; mask < g.size; mask <<= 1) {
    const partner = g.rank ^ mask;
    if (partner >= g.size) continue;
    const [, x] = await Promise.all([g.send(partner, partial), g.recv<T>(partner)]);
    if (partner < g.rank) {
      partial = combine(x, partial);
      result = has ? combine(x, result as T) : x;
      has = true;
    } else partial = combine(partial, x);
  }
  return result;
}
