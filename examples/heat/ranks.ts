// The heat equation as an SPMD job: each rank owns a contiguous block of the grid plus one
// halo cell on each side, and before every step swaps its edge values with its neighbours
// (MPI_Sendrecv). The ends of the grid are fixed, so the first and last ranks have a
// neighbour on one side only: the other is PROC_NULL. Rank 0 gathers the blocks into the final field.
import { comm, PROC_NULL } from "../../src/runtime.ts";
import { block, checkGrid, initialBlock, stencil } from "./kernel.ts";

// One tag per direction, so a value is never taken for its opposite even between a pair of ranks.
const RIGHTWARD = 1;
const LEFTWARD = 2;

/** Runs `steps` steps of the n-point grid; rank 0 returns the whole field, the others undefined. */
export async function heat(n: number, steps: number): Promise<Float64Array | undefined> {
  const c = comm();
  checkGrid(n, steps, c.size);
  const [from, to] = block(n, c.size, c.rank);
  const m = to - from;
  const left = c.rank > 0 ? c.rank - 1 : PROC_NULL;
  const right = c.rank < c.size - 1 ? c.rank + 1 : PROC_NULL;
  // Local index k is grid point from - 1 + k: 0 and m + 1 are the halo cells.
  let u = new Float64Array(m + 2);
  u.set(initialBlock(n, from, to), 1);
  let v = u.slice(); // both buffers hold the fixed ends
  // The grid's end points stay as they are: skip them if this block holds one.
  const first = from === 0 ? 2 : 1;
  const last = to === n ? m : m + 1;
  for (let s = 0; s < steps; s++) {
    const [fromLeft, fromRight] = await Promise.all([
      c.sendrecv<number | undefined>(right, u[m]!, left, RIGHTWARD, RIGHTWARD),
      c.sendrecv<number | undefined>(left, u[1]!, right, LEFTWARD, LEFTWARD),
    ]);
    if (fromLeft.value !== undefined) u[0] = fromLeft.value;
    if (fromRight.value !== undefined) u[m + 1] = fromRight.value;
    stencil(u, v, first, last);
    [u, v] = [v, u];
  }
  // A copy of the owned cells: sending a subarray might carry the whole buffer.
  const blocks = await c.gather(u.slice(1, m + 1), 0);
  if (blocks === undefined) return undefined;
  const field = new Float64Array(n);
  let at = 0;
  for (const b of blocks) {
    field.set(b, at);
    at += b.length;
  }
  return field;
}
