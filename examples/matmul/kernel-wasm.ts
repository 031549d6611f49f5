// kernel.ts's multiplyRows with its loops in C (matmul.c, compiled to matmul.wasm with
// -msimd128: blocked, f64x2). Same signature, same result bit for bit: every C[i][j] is
// summed over k in ascending order with separate multiplies and adds, as in kernel.ts.
// A, B and C each cross into linear memory once (copyIn, copyOut); the blocks are freed
// in reverse order of allocation on return (`using`), so the heap does not grow across calls.
import { loadWasmKernel } from "../../src/runtime.ts";
import bytes from "./matmul.wasm";

interface MatmulExports {
  matmul(a: number, b: number, c: number, rows: number, n: number): void;
}

/** C's rows for `aRows` (r = aRows.length / n rows of A) times the n x n B, as kernel.ts's multiplyRows. */
export async function multiplyRows(aRows: Float64Array, B: Float64Array, n: number): Promise<Float64Array> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (B.length !== n * n) throw new RangeError(`B has ${B.length} elements, expected ${n * n}`);
  if (aRows.length % n !== 0) throw new RangeError(`aRows has ${aRows.length} elements, not a multiple of n = ${n}`);
  const k = await loadWasmKernel<MatmulExports>(bytes); // compiled once per runner
  using a = k.copyIn(aRows);
  using b = k.copyIn(B);
  using c = k.alloc(Float64Array, aRows.length);
  k.exports.matmul(a.ptr, b.ptr, c.ptr, aRows.length / n, n);
  return c.moveOut(); // returned and never touched again: the runner sends it without another copy
}
