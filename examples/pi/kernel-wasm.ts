// kernel.ts's countHits and countAll with the loop in C (pi.c, compiled to pi.wasm with
// -msimd128: four points at a time). Same draws, same comparison in double: the same hit
// counts as the JS kernel, for every seed and size.
import { loadWasmKernel } from "../../src/runtime.ts";
import { seedOf, share } from "./kernel.ts";
import bytes from "./pi.wasm";

interface PiExports {
  pi_hits(samples: number, state: number): number;
}

/** mulberry32's state advances by this per draw (two draws a point). */
const STEP = 0x6d2b79f5;
/** Points per kernel call: its count and its loop index are 32-bit. */
const CHUNK = 2 ** 30;

/** Points of the unit square, drawn with mulberry32 from `seed`, that fall inside the quarter circle. */
export async function countHits(samples: number, seed: number): Promise<number> {
  if (!Number.isInteger(samples) || samples < 0) throw new RangeError(`samples must be a whole number >= 0, got ${samples}`);
  const k = await loadWasmKernel<PiExports>(bytes); // compiled once per runner
  let hits = 0;
  for (let done = 0; done < samples; done += CHUNK) {
    // The state after `done` points: 2 * done draws of STEP each, mod 2^32 (Math.imul wraps as the state does).
    const state = (seed + Math.imul((2 * done) % 2 ** 32, STEP)) >>> 0;
    hits += k.exports.pi_hits(Math.min(CHUNK, samples - done), state) >>> 0;
  }
  return hits;
}

/** Every rank's draws in one thread: the single-process baseline, equal to the job's total. */
export async function countAll(n: number, size: number): Promise<number> {
  let hits = 0;
  for (let rank = 0; rank < size; rank++) hits += await countHits(share(n, size, rank), seedOf(rank));
  return hits;
}
