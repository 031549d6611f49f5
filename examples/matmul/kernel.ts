// The matrix-multiply kernel. Plain exported functions with no Strand imports: the
// benchmark calls them in-process for the single-process baseline and through
// `cluster.import()` on the runners. Matrices are n x n, row-major Float64Arrays.

/**
 * Multiplies a block of A's rows by B: `aRows` holds r = aRows.length / n rows of A,
 * the result holds the same r rows of C = A * B.
 *
 * The i-k-j loop order walks B and C row by row (unit stride in the inner loop), which
 * is much kinder to the cache than the textbook i-j-k order. Each C[i][j] is summed over
 * k in ascending order, so a row's result does not depend on how A was split into
 * blocks: the distributed result equals the single-process one bit for bit.
 */
export function multiplyRows(aRows: Float64Array, B: Float64Array, n: number): Float64Array {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (B.length !== n * n) throw new RangeError(`B has ${B.length} elements, expected ${n * n}`);
  if (aRows.length % n !== 0) throw new RangeError(`aRows has ${aRows.length} elements, not a multiple of n = ${n}`);
  const rows = aRows.length / n;
  const C = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const a = aRows[ci + k]!;
      const bk = k * n;
      for (let j = 0; j < n; j++) C[ci + j]! += a * B[bk + j]!;
    }
  }
  return C;
}

/** A deterministic n x n matrix with entries in [-1, 1) (mulberry32 seeded by `seed`). */
export function randomMatrix(n: number, seed: number): Float64Array {
  const m = new Float64Array(n * n);
  let s = seed >>> 0;
  for (let i = 0; i < m.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    m[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return m;
}
