import { allocateUnset, combineTo, kindOf, type ArrayKind, type ElementOp } from "../reduce-ops.ts";
import { absolute, CHUNK_BYTES, relative, segment, type Group } from "../group.ts";

// Bandwidth-optimal algorithms for big typed arrays: every rank sends and receives about
// 2(size-1)/size of the array (ring reduce-scatter then ring allgather), or the array once
// (a pipelined chain), instead of log2(size) whole copies down a tree.

type Numbers = ReturnType<typeof allocateUnset>;

const right = (g: Group): number => (g.rank + 1) % g.size;
const left = (g: Group): number => (g.rank - 1 + g.size) % g.size;
const seg = (a: Numbers, parts: number, i: number): Numbers => a.subarray(...segment(a.length, parts, i));

/**
 * Ring reduce-scatter into `acc` (the input stays untouched, and is never copied whole):
 * afterwards segment (rank+1) % size of `acc` holds every rank's values combined. Returns
 * that segment's index. Each segment is combined here at most once, so the first send
 * comes straight from the input and every later one from `acc`.
 */
export async function ringReduceScatter(g: Group, value: Numbers, acc: Numbers, op: ElementOp): Promise<number> {
  const p = g.size;
  for (let s = 0; s < p - 1; s++) {
    const out = (g.rank - s + p) % p;
    const into = (g.rank - s - 1 + p) % p;
    const [, x] = await Promise.all([g.send(right(g), seg(s === 0 ? value : acc, p, out)), g.recv<Numbers>(left(g))]);
    combineTo(op, seg(acc, p, into), x, seg(value, p, into));
    g.release(x);
  }
  return (g.rank + 1) % p;
}

/** Ring allgather in place: each rank starts with segment `owned` of `acc` and ends with all. */
export async function ringAllgatherSegments(g: Group, acc: Numbers, owned: number): Promise<void> {
  const p = g.size;
  for (let s = 0; s < p - 1; s++) {
    const out = (owned - s + p) % p;
    const into = (owned - s - 1 + p) % p;
    const [, x] = await Promise.all([g.send(right(g), seg(acc, p, out)), g.recv<Numbers>(left(g))]);
    seg(acc, p, into).set(x as never);
    g.release(x);
  }
}

/** Allreduce of a big typed array (Rabenseifner's ring): a new array, the input untouched. */
export async function ringAllreduce(g: Group, value: Numbers, op: ElementOp): Promise<Numbers> {
  const acc = allocateUnset(kindOf(value), value.length); // every segment is written below
  const owned = await ringReduceScatter(g, value, acc, op);
  await ringAllgatherSegments(g, acc, owned);
  return acc;
}

/** Reduce of a big typed array: ring reduce-scatter, then every segment to the root. */
export async function ringReduce(g: Group, value: Numbers, op: ElementOp, root: number): Promise<Numbers | undefined> {
  const p = g.size;
  // The root writes every segment below; the others' acc is never seen.
  const acc = allocateUnset(kindOf(value), value.length);
  const owned = await ringReduceScatter(g, value, acc, op);
  if (g.rank !== root) {
    await g.send(root, seg(acc, p, owned));
    return undefined;
  }
  await Promise.all(Array.from({ length: p }, async (_, q) => {
    if (q === root) return;
    const x = await g.recv<Numbers>(q);
    seg(acc, p, (q + 1) % p).set(x as never);
    g.release(x);
  }));
  return acc;
}

/** Allgather of any values around the ring: size-1 steps, each rank passing on what it last got. */
export async function ringAllgather<T>(g: Group, value: T): Promise<T[]> {
  const p = g.size;
  const all = new Array<T>(p);
  all[g.rank] = value;
  for (let s = 0; s < p - 1; s++) {
    const out = (g.rank - s + p) % p;
    const into = (g.rank - s - 1 + p) % p;
    const [, x] = await Promise.all([g.send(right(g), all[out]), g.recv<T>(left(g))]);
    all[into] = x;
  }
  return all;
}

/** What the chain's receivers allocate. */
export interface ChainPlan {
  kind: ArrayKind;
  length: number;
  chunks: number;
}

export function chainPlan(value: Numbers): ChainPlan {
  return { kind: kindOf(value), length: value.length, chunks: Math.max(1, Math.ceil(value.byteLength / CHUNK_BYTES)) };
}

/**
 * Broadcast of a big typed array down a chain in root-relative order, in chunks: every hop
 * forwards a chunk while the next one arrives, so the time is about one transfer of the
 * array plus one chunk per hop.
 */
export async function chainBcast(g: Group, value: Numbers | undefined, plan: ChainPlan, root: number): Promise<Numbers> {
  const p = g.size;
  const vr = relative(g.rank, root, p);
  const next = vr + 1 < p ? absolute(vr + 1, root, p) : -1;
  const sends: Promise<void>[] = [];
  if (vr === 0) {
    for (let c = 0; c < plan.chunks; c++) sends.push(g.send(next, seg(value!, plan.chunks, c)));
    await Promise.all(sends);
    return value!;
  }
  const prev = absolute(vr - 1, root, p);
  const out = allocateUnset(plan.kind, plan.length); // every chunk is written below
  for (let c = 0; c < plan.chunks; c++) {
    const x = await g.recv<Numbers>(prev);
    seg(out, plan.chunks, c).set(x as never);
    // Its memory is read into again once the next rank's send of it no longer needs it.
    if (next >= 0) sends.push(g.send(next, x).then(() => g.release(x)));
    else g.release(x);
  }
  await Promise.all(sends);
  return out;
}
