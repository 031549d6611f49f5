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
  const keys = new Float64Array(count);
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
 * (splitters[j-1], splitters[j]]. Copies, not subarrays: a view sent to another rank might
 * carry its whole buffer.
 */
export function bucketsOf(sorted: Float64Array, splitters: Float64Array): Float64Array[] {
  const cuts = [0, ...Array.from(splitters, (s) => upperBound(sorted, s)), sorted.length];
  return cuts.slice(1).map((end, j) => sorted.slice(cuts[j]!, end));
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

/** Two sorted arrays merged into one sorted array: O(a + b), where sorting their concatenation is O(n log n). */
function merge2(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  out.set(a.subarray(i), k);
  out.set(b.subarray(j), k + a.length - i);
  return out;
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
