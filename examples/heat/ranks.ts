// The heat equation as an SPMD job: each rank owns a contiguous block of the grid plus a
// halo of `depth` cells on each side. Every `depth` steps it swaps `depth` edge cells with
// each neighbour (MPI_Sendrecv), then runs `depth` steps without talking to anyone: a step
// needs one neighbour on each side, so each step uses up one halo cell per side, and the
// block's own cells are right at the last. Computing a few halo cells that the neighbour
// computes too costs nothing next to a block of 500,000 cells, and one message round per
// `depth` steps instead of one per step is what makes the job pay (a round costs a rank
// tens of microseconds on a quiet machine, milliseconds on a loaded one). The ends of the
// grid are fixed, so the first and last ranks have a neighbour on one side only: the other
// is PROC_NULL. Rank 0 gathers the blocks into the final field.
import { comm, PROC_NULL } from "../../src/runtime.ts";
import { block, checkGrid, initialBlock, stencil } from "./kernel.ts";

// One tag per direction, so a value is never taken for its opposite even between a pair of ranks.
const RIGHTWARD = 1;
const LEFTWARD = 2;

/** Halo cells per side: steps between two exchanges. */
export const HALO = 50;

/** Runs `steps` steps of the n-point grid; rank 0 returns the whole field, the others undefined. */
export async function heat(n: number, steps: number): Promise<Float64Array | undefined> {
  const c = comm();
  checkGrid(n, steps, c.size);
  const [from, to] = block(n, c.size, c.rank);
  const m = to - from;
  const left = c.rank > 0 ? c.rank - 1 : PROC_NULL;
  const right = c.rank < c.size - 1 ? c.rank + 1 : PROC_NULL;
  // Every rank owns at least floor(n / size) cells, so every neighbour can fill a halo this deep.
  const depth = Math.max(1, Math.min(HALO, Math.floor(n / c.size)));
  // Local index k is grid point from - depth + k: the block is depth..depth + m - 1.
  const at = (g: number): number => g - from + depth;
  let u = new Float64Array(m + 2 * depth);
  u.set(initialBlock(n, from, to), depth);
  let v = u.slice(); // both buffers hold the fixed ends
  for (let s = 0; s < steps; s += depth) {
    const h = Math.min(depth, steps - s);
    // Our first h cells go left (they are the left neighbour's right halo), our last h go right.
    const [fromLeft, fromRight] = await Promise.all([
      c.sendrecv<Float64Array | undefined>(right, u.slice(at(to - h), at(to)), left, RIGHTWARD, RIGHTWARD),
      c.sendrecv<Float64Array | undefined>(left, u.slice(at(from), at(from + h)), right, LEFTWARD, LEFTWARD),
    ]);
    if (fromLeft.value !== undefined) u.set(fromLeft.value, at(from - h));
    if (fromRight.value !== undefined) u.set(fromRight.value, at(to));
    // Step j can compute the points whose neighbours were right after step j - 1: the valid
    // span shrinks by one cell per side and step, down to the block itself after the last.
    // The grid's end points stay as they are.
    for (let j = 0; j < h; j++) {
      const lo = Math.max(1, from - h + j + 1);
      const hi = Math.min(n - 1, to + h - j - 1);
      stencil(u, v, at(lo), at(hi));
      [u, v] = [v, u];
    }
  }
  // A copy of the owned cells: sending a subarray might carry the whole buffer.
  const blocks = await c.gather(u.slice(depth, depth + m), 0);
  if (blocks === undefined) return undefined;
  const field = new Float64Array(n);
  let k = 0;
  for (const b of blocks) {
    field.set(b, k);
    k += b.length;
  }
  return field;
}
