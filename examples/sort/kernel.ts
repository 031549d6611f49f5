// Sample sort's kernel: key generation and the steps between the collectives. No Strand
// imports, so the driver's baseline generates exactly the keys the ranks do.
import { createHash } from "node:crypto";

/** Rank `rank`'s share of n items split over `size` ranks: sizes differ by at most one. */
export function share(n: number, size: number, rank: number): number {
  return Math.floor(((rank + 1) * n) / size) - Math.floor((rank * n) / size);
}

/** The PRNG seed of a rank: golden-ratio steps, so neighbouring ranks get unrelated streams. */
export function seedOf(rank: number): number {
  return Math.imul(rank + 1, 0x9e3779b9) >>> 0;
}

/**
 * `count` keys in [0, 1) from mulberry32 seeded by `seed`, cubed: they crowd toward 0, so
 * equal-width buckets would be badly unbalanced and the splitters have to come from samples.
 */
export function keysOf(count: number, seed: number): Float64Array {
  return fillKeys(new Float64Array(count), seed);
}

/** keysOf(keys.length, seed), written into `keys`. */
export function fillKeys(keys: Float64Array, seed: number): Float64Array {
  const count = keys.length;
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    keys[i] = u * u * u;
  }
  return keys;
}

/** Every rank's keys, in rank order, sorted in one thread: the single-process baseline. */
export function sortSingle(n: number, size: number): Float64Array {
  const all = new Float64Array(n);
  for (let rank = 0, at = 0; rank < size; rank++) {
    const keys = keysOf(share(n, size, rank), seedOf(rank));
    all.set(keys, at);
    at += keys.length;
  }
  return all.sort();
}

/** Up to k evenly spaced elements of a sorted array (all of it if shorter). */
export function samplesOf(sorted: Float64Array, k: number): Float64Array {
  if (sorted.length <= k) return sorted.slice();
  return Float64Array.from({ length: k }, (_, i) => sorted[Math.floor(((i + 0.5) * sorted.length) / k)]!);
}

/** The size - 1 splitters: evenly spaced elements of every rank's samples, sorted. */
export function splittersOf(samples: readonly Float64Array[], size: number): Float64Array {
  const all = concat(samples).sort();
  if (all.length === 0) return new Float64Array(size - 1); // no keys anywhere: any splitters do
  return Float64Array.from({ length: size - 1 }, (_, j) => all[Math.floor(((j + 1) * all.length) / size)]!);
}

/** The first index of a sorted array whose element is greater than x. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Cuts a sorted array into splitters.length + 1 buckets: bucket j holds the keys in
 * (splitters[j-1], splitters[j]]. Views, not copies: a typed array view travels as its own
 * bytes (the codec sends byteOffset to byteOffset + byteLength), and a send resolves once its
 * bytes may be reused. A copy was another pass over the keys and 32 MB of new memory at 4M
 * keys a rank.
 */
export function bucketsOf(sorted: Float64Array, splitters: Float64Array): Float64Array[] {
  const cuts = [0, ...Array.from(splitters, (s) => upperBound(sorted, s)), sorted.length];
  return cuts.slice(1).map((end, j) => sorted.subarray(cuts[j]!, end));
}

export function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Merges sorted a[ai, aEnd) and sorted b[bi, bEnd) into out from index k, until one of them
 * runs out; returns where each stopped. The index steps are arithmetic, not branches: which
 * run the next key comes from is a coin toss for random keys, and a mispredicted branch a key
 * cost ~25% of the merge (2 x 2M keys: 40-64 ms against 33-51 ms, loaded 2-CPU VM).
 */
function mergeRuns(out: Float64Array, k: number, a: Float64Array, ai: number, aEnd: number, b: Float64Array, bi: number, bEnd: number): [number, number, number] {
  let i = ai;
  let j = bi;
  let o = k;
  while (i < aEnd && j < bEnd) {
    const x = a[i]!;
    const y = b[j]!;
    const t = x <= y ? 1 : 0;
    out[o++] = t === 1 ? x : y;
    i += t;
    j += 1 - t;
  }
  return [i, j, o];
}

/** Two sorted arrays merged into one sorted array: O(a + b), where sorting their concatenation is O(n log n). */
function merge2(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  const [i, j, k] = mergeRuns(out, 0, a, 0, a.length, b, 0, b.length);
  out.set(a.subarray(i), k);
  out.set(b.subarray(j), k + a.length - i);
  return out;
}

/**
 * Sorted `own`, a view of `buf`, merged with sorted `other` into buf's own memory: returns
 * buf[0, own + other) sorted, or undefined when buf is too short (then nothing is written).
 * Everything of buf outside `own` is overwritten. Own's keys first move to buf's end, so the
 * merge, writing from the front, never overtakes them. A rank's keys are its buckets, and
 * once the alltoall has sent the others' (a send resolves when its memory may be reused),
 * the room they took and some spare hold the slice it ends up with: no new 32 MB array, whose
 * first touch cost as much as the merge on this VM (4M keys: 35-110 ms of CPU for the merge
 * into new memory, the spread all page faults).
 */
export function mergeIntoOwn(buf: Float64Array, own: Float64Array, other: Float64Array): Float64Array | undefined {
  const total = own.length + other.length;
  const cap = buf.length;
  if (total > cap || own.buffer !== buf.buffer) return undefined;
  const from = (own.byteOffset - buf.byteOffset) / Float64Array.BYTES_PER_ELEMENT;
  const base = cap - own.length;
  buf.copyWithin(base, from, from + own.length);
  const [i, j, k] = mergeRuns(buf, 0, buf, base, cap, other, 0, other.length);
  if (j < other.length) buf.set(other.subarray(j), k);
  else buf.copyWithin(k, i, cap);
  return buf.subarray(0, total);
}

/**
 * Sorted arrays merged into one sorted array, pairwise (log2(parts) passes). What a rank
 * receives from the alltoall is one sorted bucket per rank, so merging them is enough: at
 * 2M keys a rank, sorting the concatenation again cost ~10x the merge.
 */
export function mergeSorted(parts: readonly Float64Array[]): Float64Array {
  let level = [...parts];
  if (level.length === 0) return new Float64Array(0);
  while (level.length > 1) {
    const next: Float64Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? merge2(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** What identifies a slice of sorted keys without sending it: its length and the SHA-256 of its bytes. */
export interface SliceDigest {
  length: number;
  sha256: string;
}

export function digestOf(keys: Float64Array): SliceDigest {
  const bytes = new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength);
  return { length: keys.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}
