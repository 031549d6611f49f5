// kernel.ts's stencil with its loops in C (stencil.c, compiled to stencil.wasm with
// -msimd128), run h steps at a time tile by tile so that a tile stays in the core's cache for
// all h steps. Same operands, same order for every cell: the field is the JS kernel's, bit
// for bit. The field lives in the kernel's linear memory for the whole run (a WasmField), so
// only the halo cells cross between JS and Wasm while stepping.
import { loadWasmKernel, type WasmArray, type WasmKernel } from "../../src/runtime.ts";
import { checkGrid, HALO, initialBlock } from "./kernel.ts";
import bytes from "./stencil.wasm";

interface StencilExports {
  heat_advance(u: number, v: number, a: number, b: number, cmin: number, cmax: number, h: number): number;
}

/** Steps one heat_advance call runs at most (stencil.c's MAX_DEPTH). */
export const MAX_DEPTH = 256;

/** A field of `length` cells in the kernel's memory: two buffers, the current one and the next. */
export class WasmField implements Disposable {
  #u: WasmArray<Float64Array>;
  #v: WasmArray<Float64Array>;

  private constructor(private readonly kernel: WasmKernel<StencilExports>, length: number) {
    this.#u = kernel.alloc(Float64Array, length);
    this.#v = kernel.alloc(Float64Array, length);
  }

  /** A field in this thread's instance of the kernel (compiled once per runner). */
  static async create(length: number): Promise<WasmField> {
    return new WasmField(await loadWasmKernel<StencilExports>(bytes), length);
  }

  /** Sets both buffers to `cells` from `at` on: the fixed cells must be in both. */
  fill(cells: Float64Array, at = 0): void {
    this.#u.view().set(cells, at);
    this.#v.view().set(cells, at);
  }

  /** The current field: borrowed (valid until the next advance or dispose). */
  view(): Float64Array {
    return this.#u.view();
  }

  /**
   * h steps (1..MAX_DEPTH) of cells [cmin, cmax), the current field being right on [a, b):
   * after it the field is right on [max(cmin, a + h), min(cmax, b - h)) and at the fixed cells
   * (as kernel.ts's steps with the span shrinking by a cell per side and step; stencil.c).
   */
  advance(a: number, b: number, cmin: number, cmax: number, h: number): void {
    if (!Number.isInteger(h) || h < 1 || h > MAX_DEPTH) throw new RangeError(`steps per advance must be 1..${MAX_DEPTH}, got ${h}`);
    this.kernel.exports.heat_advance(this.#u.ptr, this.#v.ptr, a, b, cmin, cmax, h);
    [this.#u, this.#v] = [this.#v, this.#u];
  }

  [Symbol.dispose](): void {
    // The allocator gives a top block back: free the later one first.
    const [first, second] = this.#u.ptr < this.#v.ptr ? [this.#u, this.#v] : [this.#v, this.#u];
    second.free();
    first.free();
  }
}

/** `steps` steps of the whole field in one thread, HALO steps per kernel call: the single-process baseline. */
export async function heatSingle(n: number, steps: number): Promise<Float64Array> {
  checkGrid(n, steps);
  using f = await WasmField.create(n);
  f.fill(initialBlock(n, 0, n));
  for (let s = 0; s < steps; s += HALO) {
    const h = Math.min(HALO, steps - s);
    // The whole grid is right at every step: only the fixed ends bound the cells computed.
    f.advance(1 - h, n - 1 + h, 1, n - 1, h);
  }
  return f.view().slice();
}
