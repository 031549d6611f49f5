// The 1-D heat equation's kernel, u_t = u_xx on n grid points with explicit Euler steps:
// u'[i] = u[i] + R * (u[i-1] - 2 u[i] + u[i+1]). The two end points are fixed boundaries.
// No Strand imports: the baseline and the ranks call the same `stencil`, so each point is
// computed with the same operations in the same order wherever it lives, and the
// distributed field must equal the single-process one bit for bit.

/** dt / dx^2: explicit Euler is stable up to 0.5. */
export const R = 0.25;

/**
 * Halo cells per side in the SPMD job (ranks.ts): steps between two exchanges. The Wasm
 * kernel's single-process run takes the same number of steps per call (kernel-wasm.ts).
 */
export const HALO = 200;

/** The starting temperature of grid point i of n: the left end held at 1, the right at 0, a bump between. */
export function initial(n: number, i: number): number {
  if (i === 0) return 1;
  if (i === n - 1) return 0;
  const x = i / (n - 1);
  return 4 * x * (1 - x);
}

/** Grid points from..to-1 of the starting field. */
export function initialBlock(n: number, from: number, to: number): Float64Array {
  const u = new Float64Array(to - from);
  for (let i = from; i < to; i++) u[i - from] = initial(n, i);
  return u;
}

/** One step for points from..to-1 of `src` into `dst`; reads src[from-1] and src[to]. */
export function stencil(src: Float64Array, dst: Float64Array, from: number, to: number): void {
  for (let i = from; i < to; i++) dst[i] = src[i]! + R * (src[i - 1]! - 2 * src[i]! + src[i + 1]!);
}

/**
 * h steps of cells [cmin, cmax) of a field right on [a, b) at entry, between the buffers u
 * and v (both holding the fixed cells): step j (from 0) computes cells [max(cmin, a + j + 1),
 * min(cmax, b - j - 1)). Returns the buffer that holds the result, right on
 * [max(cmin, a + h), min(cmax, b - h)): u if h is even, else v. The JS twin of
 * kernel-wasm.ts's WasmField.advance.
 */
export function advance(u: Float64Array, v: Float64Array, a: number, b: number, cmin: number, cmax: number, h: number): Float64Array {
  for (let j = 0; j < h; j++) {
    stencil(u, v, Math.max(cmin, a + j + 1), Math.min(cmax, b - j - 1));
    [u, v] = [v, u];
  }
  return u;
}

/** The grid points [from, to) of rank `rank` of `size`: contiguous blocks whose sizes differ by at most one. */
export function block(n: number, size: number, rank: number): [from: number, to: number] {
  return [Math.floor((rank * n) / size), Math.floor(((rank + 1) * n) / size)];
}

export function checkGrid(n: number, steps: number, size = 1): void {
  if (!Number.isInteger(n) || n < 3) throw new RangeError(`the grid needs a whole number >= 3 of points, got ${n}`);
  if (n < size) throw new RangeError(`${n} grid points cannot give each of ${size} ranks a point`);
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`steps must be a whole number >= 0, got ${steps}`);
}

/** `steps` steps of the whole field in one thread: the single-process baseline. */
export function heatSingle(n: number, steps: number): Float64Array {
  checkGrid(n, steps);
  let u = initialBlock(n, 0, n);
  let v: Float64Array = u.slice(); // both buffers hold the fixed ends
  for (let s = 0; s < steps; s++) {
    stencil(u, v, 1, n - 1);
    [u, v] = [v, u];
  }
  return u;
}
