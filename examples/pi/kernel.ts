// Monte Carlo pi's kernel: no Strand imports, so the driver's baseline and the ranks run the
// very same code. Each rank draws its share of the n points from its own PRNG stream
// (mulberry32 seeded by the rank), so the hit count of a job with `size` ranks is fixed by
// (n, size) alone and the driver can recompute it exactly.

/** Rank `rank`'s share of n items split over `size` ranks: sizes differ by at most one. */
export function share(n: number, size: number, rank: number): number {
  return Math.floor(((rank + 1) * n) / size) - Math.floor((rank * n) / size);
}

/** The PRNG seed of a rank: golden-ratio steps, so neighbouring ranks get unrelated streams. */
export function seedOf(rank: number): number {
  return Math.imul(rank + 1, 0x9e3779b9) >>> 0;
}

/** Points of the unit square, drawn with mulberry32 from `seed`, that fall inside the quarter circle. */
export function countHits(samples: number, seed: number): number {
  if (!Number.isInteger(samples) || samples < 0) throw new RangeError(`samples must be a whole number >= 0, got ${samples}`);
  let s = seed >>> 0;
  let hits = 0;
  // The generator is inlined (not a closure per draw): this loop is the whole cost.
  for (let i = 0; i < samples; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    s = (s + 0x6d2b79f5) >>> 0;
    t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const y = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    if (x * x + y * y < 1) hits++;
  }
  return hits;
}

/** Every rank's draws in one thread: the single-process baseline, equal to the job's total. */
export function countAll(n: number, size: number): number {
  let hits = 0;
  for (let rank = 0; rank < size; rank++) hits += countHits(share(n, size, rank), seedOf(rank));
  return hits;
}
