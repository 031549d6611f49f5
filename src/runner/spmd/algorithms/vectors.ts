import type { Vector } from "../../../comm.ts";
import type { Group } from "../group.ts";
import { allocate, isTypedArray, kindOf } from "../reduce-ops.ts";
import { alltoall } from "./exchanges.ts";
import { ringAllgather } from "./rings.ts";

// The vector collectives: each rank's block has a size of its own, placed at a displacement
// in one vector (MPI's counts and displs, in elements). Blocks of different sizes cannot
// share the trees' even split, so, as in MPICH, gatherv and scatterv are linear (the root
// talks to each rank), allgatherv goes round the ring, alltoallv exchanges all pairs at once.
// Reduce-scatter goes round the ring too, one block per step, so every rank sends and
// receives about one vector's worth whatever the counts.

/** Where each rank's block lies: rank i's is `counts[i]` elements from `displs[i]`. */
export interface Layout {
  readonly counts: readonly number[];
  readonly displs: readonly number[];
}

/** The elements the layout spans: the end of its furthest block. */
export const extent = (l: Layout): number => l.counts.reduce((end, c, i) => (c > 0 ? Math.max(end, l.displs[i]! + c) : end), 0);

/** Elements [at, at + count) of `v`: a view of a typed array (no copy), a copy of an array's. */
export const blockOf = <V extends Vector>(v: V, at: number, count: number): V =>
  (isTypedArray(v) ? v.subarray(at, at + count) : v.slice(at, at + count)) as V;

/** A copy of a block: what a rank returns must not alias its input. */
const copyOf = <V extends Vector>(v: V): V => v.slice() as V;

/** A vector of `like`'s kind: a typed array (zeros) or an array (holes). */
function vectorLike<V extends Vector>(like: V, length: number): V {
  return (isTypedArray(like) ? allocate(kindOf(like), length) : new Array<unknown>(length)) as V;
}

function place(out: Vector, at: number, b: Vector, from: number, expected: number, where: string): void {
  if (b.length !== expected) throw new RangeError(`${where}: rank ${from} gave ${b.length} elements where the counts say ${expected}`);
  if (b.length === 0) return; // its displacement may lie past the vector's end (extent ignores empty blocks)
  if (isTypedArray(out)) (out as Float64Array).set(b as ArrayLike<number>, at);
  else for (let i = 0; i < b.length; i++) out[at + i] = b[i];
}

/** One vector from every rank's block, each put where the layout says. */
function assemble<V extends Vector>(like: V, blocks: readonly Vector[], l: Layout, where: string): V {
  const out = vectorLike(like, extent(l));
  blocks.forEach((b, q) => place(out, l.displs[q]!, b, q, l.counts[q]!, where));
  return out;
}

export async function linearGatherv<V extends Vector>(g: Group, value: V, root: number, l: Layout | undefined): Promise<V | undefined> {
  if (g.rank !== root) {
    await g.send(root, value);
    return undefined;
  }
  const blocks = new Array<Vector>(g.size);
  blocks[root] = value;
  await Promise.all(Array.from({ length: g.size }, async (_, q) => {
    if (q !== root) blocks[q] = await g.recv<Vector>(q);
  }));
  return assemble(value, blocks, l!, "gatherv");
}

export async function linearScatterv<V extends Vector>(g: Group, values: V | undefined, root: number, l: Layout | undefined): Promise<V> {
  if (g.rank !== root) return g.recv<V>(root);
  const sends: Promise<void>[] = [];
  for (let q = 0; q < g.size; q++) if (q !== root) sends.push(g.send(q, blockOf(values!, l!.displs[q]!, l!.counts[q]!)));
  await Promise.all(sends);
  return copyOf(blockOf(values!, l!.displs[root]!, l!.counts[root]!));
}

export async function ringAllgatherv<V extends Vector>(g: Group, value: V, l: Layout): Promise<V> {
  return assemble(value, await ringAllgather<Vector>(g, value), l, "allgatherv");
}

export async function pairwiseAlltoallv<V extends Vector>(g: Group, values: V, send: Layout, recv: Layout): Promise<V> {
  const blocks = send.counts.map((c, q) => blockOf(values, send.displs[q]!, c));
  return assemble(values, await alltoall<Vector>(g, blocks), recv, "alltoallv");
}

/**
 * Ring reduce-scatter over blocks of any sizes: at step s a rank passes on the block
 * (rank - s - 1) it has combined so far and folds its own part into the one it gets, so after
 * size - 1 steps it holds its own block combined over every rank. `combine(a, b)` returns a
 * new block, the inputs untouched.
 */
export async function ringReduceScatterv<V extends Vector>(g: Group, value: V, l: Layout, combine: (a: V, b: V) => V): Promise<V> {
  const p = g.size;
  const own = (q: number): V => blockOf(value, l.displs[q]!, l.counts[q]!);
  if (p === 1) return copyOf(own(0));
  let carried: V | undefined;
  for (let s = 0; s < p - 1; s++) {
    const out = (g.rank - s - 1 + p) % p;
    const into = (g.rank - s - 2 + p) % p;
    const [, x] = await Promise.all([g.send((g.rank + 1) % p, carried ?? own(out)), g.recv<V>((g.rank - 1 + p) % p)]);
    if (x.length !== l.counts[into]) throw new RangeError(`reduceScatter: block ${into} from rank ${(g.rank - 1 + p) % p} has ${x.length} elements where the counts say ${l.counts[into]}`);
    carried = combine(x, own(into));
  }
  return carried!;
}
