// Merges packed counts (packed.ts) in the driver with wordcount.wasm's own hash table: each
// chunk's table is added in C as it arrives, and one Map is built at the end, instead of
// decoding every chunk's 17k words into JS strings and Map updates. The driver reads the
// .wasm from disk (it does not go through the bundler) and uses the same wasmKernel() helper
// as the runners. One merge at a time per thread: the kernel's merge table is a single one.
import { readFileSync } from "node:fs";
import { wasmKernel } from "../../src/runtime.ts";
import type { PackedCounts } from "./packed.ts";

interface MergeExports {
  wc_merge_begin(): number;
  wc_merge_add(words: number, wordsLen: number, counts: number, n: number): number;
  wc_merge_end(): number;
}

const bytes = readFileSync(new URL("./wordcount.wasm", import.meta.url));

/** Sums packed counts in linear memory; result() gives the Map and ends the merge. */
export class WasmMerger {
  private readonly k = wasmKernel<MergeExports>(bytes);
  private open = true;

  constructor() {
    if (this.k.exports.wc_merge_begin() === 0) throw new Error("wordcount.wasm: out of memory starting a merge");
  }

  add(p: PackedCounts): void {
    if (!this.open) throw new Error("WasmMerger.add after result()");
    using words = this.k.copyIn(p.words);
    using counts = this.k.copyIn(p.counts);
    if (this.k.exports.wc_merge_add(words.ptr, words.length, counts.ptr, counts.length) === 0) throw new Error("wordcount.wasm: out of memory merging");
  }

  result(): Map<string, number> {
    this.open = false;
    const k = this.k;
    const out = k.exports.wc_merge_end() >>> 0;
    if (out === 0) throw new Error("wordcount.wasm: out of memory ending a merge");
    try {
      const head = new Uint32Array(k.memory.buffer, out, 4);
      const distinct = head[1]!, wordBytes = head[3]!;
      const counts = new Uint32Array(k.memory.buffer, out + 16, distinct);
      const words = new TextDecoder().decode(new Uint8Array(k.memory.buffer, out + 16 + 4 * distinct, wordBytes)).split("\n");
      const m = new Map<string, number>();
      for (let i = 0; i < distinct; i++) m.set(words[i]!, counts[i]!);
      return m;
    } finally {
      k.exports.strand_free(out);
    }
  }
}
