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
//
// Two kernels step the block: kernel.ts's JS stencil, a sweep of the block per step, or
// kernel-wasm.ts's (stencil.c in Wasm), the `depth` steps tile by tile in cache. Both give the
// same field, bit for bit.
import { comm, PROC_NULL } from "../../src/runtime.ts";
import { advance, block, checkGrid, HALO, initialBlock } from "./kernel.ts";
import { MAX_DEPTH, WasmField } from "./kernel-wasm.ts";

export { HALO } from "./kernel.ts";

/** The kernel a job runs: kernel.ts in JS, or kernel-wasm.ts (stencil.c in Wasm). */
export type HeatKernel = "js" | "wasm";

// One tag per direction, so a value is never taken for its opposite even between a pair of ranks.
const RIGHTWARD = 1;
const LEFTWARD = 2;

/** A rank's block with its halos, and the kernel that steps it. */
interface Field extends Disposable {
  /** The current field (borrowed: valid until the next advance). */
  view(): Float64Array;
  advance(a: number, b: number, cmin: number, cmax: number, h: number): void;
}

function jsField(cells: Float64Array): Field {
  let u: Float64Array = cells;
  let v: Float64Array = u.slice(); // both buffers hold the fixed ends
  return {
    view: () => u,
    advance(a, b, cmin, cmax, h) {
      const out = advance(u, v, a, b, cmin, cmax, h);
      if (out !== u) [u, v] = [v, u];
    },
    [Symbol.dispose]() {},
  };
}

async function wasmField(cells: Float64Array): Promise<Field> {
  const f = await WasmField.create(cells.length);
  f.fill(cells);
  return f;
}

/** Runs `steps` steps of the n-point grid; rank 0 returns the whole field, the others undefined. */
export async function heat(n: number, steps: number, kernel: HeatKernel = "js"): Promise<Float64Array | undefined> {
  const c = comm();
  checkGrid(n, steps, c.size);
  const [from, to] = block(n, c.size, c.rank);
  const m = to - from;
  const left = c.rank > 0 ? c.rank - 1 : PROC_NULL;
  const right = c.rank < c.size - 1 ? c.rank + 1 : PROC_NULL;
  // Every rank owns at least floor(n / size) cells, so every neighbour can fill a halo this deep.
  const depth = Math.max(1, Math.min(HALO, MAX_DEPTH, Math.floor(n / c.size)));
  // Local index k is grid point from - depth + k: the block is depth..depth + m - 1.
  const at = (g: number): number => g - from + depth;
  const start = new Float64Array(m + 2 * depth);
  start.set(initialBlock(n, from, to), depth);
  using field = kernel === "wasm" ? await wasmField(start) : jsField(start);
  for (let s = 0; s < steps; s += depth) {
    const h = Math.min(depth, steps - s);
    // Our first h cells go left (they are the left neighbour's right halo), our last h go right.
    const u = field.view();
    const [fromLeft, fromRight] = await Promise.all([
      c.sendrecv<Float64Array | undefined>(right, u.slice(at(to - h), at(to)), left, RIGHTWARD, RIGHTWARD),
      c.sendrecv<Float64Array | undefined>(left, u.slice(at(from), at(from + h)), right, LEFTWARD, LEFTWARD),
    ]);
    const w = field.view(); // the same cells: nothing ran on this thread's kernel meanwhile, but view() again is the rule
    if (fromLeft.value !== undefined) w.set(fromLeft.value, at(from - h));
    if (fromRight.value !== undefined) w.set(fromRight.value, at(to));
    // Step j can compute the points whose neighbours were right after step j - 1: the valid
    // span shrinks by one cell per side and step, down to the block itself after the last.
    // The grid's end points (1 and n - 1 bound the cells computed) stay as they are.
    field.advance(at(from - h), at(to + h), at(1), at(n - 1), h);
  }
  // A copy of the owned cells: sending a subarray might carry the whole buffer.
  const blocks = await c.gather(field.view().slice(depth, depth + m), 0);
  if (blocks === undefined) return undefined;
  const result = new Float64Array(n);
  let k = 0;
  for (const b of blocks) {
    result.set(b, k);
    k += b.length;
  }
  return result;
}
