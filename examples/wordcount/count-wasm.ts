// count.ts's word count with its tokenizer and hash table in C (wordcount.c, compiled to
// wordcount.wasm): the same words and the same counts, on UTF-8 bytes instead of a string.
// A chunk's counts come back compact, as two typed arrays (the words joined by '\n', and
// their counts), not as a Map of thousands of keys: they cross the wire as raw bytes and
// the driver merges them without decoding a msgpack map (packed.ts).
import { loadWasmKernel } from "../../src/runtime.ts";
import { countWords } from "./count.ts";
import { mergePacked, pack, type PackedCounts } from "./packed.ts";
import bytes from "./wordcount.wasm";

interface WordcountExports {
  wc_count(text: number, len: number): number;
}

const HEADER = 4; // status, distinct, total, word bytes (u32 each)

/** Counts the words of UTF-8 `text` as count.ts's countWords does, in Wasm. */
export async function countWordsPacked(text: Uint8Array): Promise<PackedCounts> {
  const k = await loadWasmKernel<WordcountExports>(bytes); // compiled once per runner
  using input = k.copyIn(text);
  const out = k.exports.wc_count(input.ptr, text.length) >>> 0;
  if (out === 0) throw new Error(`wordcount.wasm ran out of memory on ${text.length} bytes`);
  try {
    const head = new Uint32Array(k.memory.buffer, out, HEADER);
    const [status, distinct, total, wordBytes] = [head[0]!, head[1]!, head[2]!, head[3]!];
    // Status 1: the text holds a code point whose lowercase depends on context (Σ) or is
    // longer than one code point (İ); count.ts handles those.
    if (status !== 0) return pack(countWords(new TextDecoder().decode(text)));
    const counts = new Uint32Array(k.memory.buffer, out + 4 * HEADER, distinct).slice();
    const words = new Uint8Array(k.memory.buffer, out + 4 * (HEADER + distinct), wordBytes).slice();
    return { words, counts, total };
  } finally {
    k.exports.strand_free(out);
  }
}

/** countWordsPacked as a Map: the single-process form, comparable with count.ts's countWords. */
export async function countWordsWasm(text: Uint8Array): Promise<Map<string, number>> {
  return mergePacked(new Map(), await countWordsPacked(text));
}
