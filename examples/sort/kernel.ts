// Sample sort's kernel: key generation and the steps between the collectives. No Strand
// imports, so the driver's baseline generates exactly the keys the ranks do.

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
