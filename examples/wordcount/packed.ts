// Word counts in compact form, as count-wasm.ts returns them from a runner: the distinct
// words in one UTF-8 byte array (each followed by '\n', which no word contains) and their
// counts in a Uint32Array. Two typed arrays cross the wire as raw bytes; a Map of 17k
// words would be 17k msgpack strings to encode and decode. No .wasm import here: the
// driver merges with this file without loading the kernel.

/** A chunk's counts: `words` holds the distinct words in UTF-8, each followed by '\n'; counts[i] is the i-th word's. */
export interface PackedCounts {
  words: Uint8Array;
  counts: Uint32Array;
  /** The number of words counted (the sum of counts). */
  total: number;
}

/** A Map of counts in the packed form. */
export function pack(counts: ReadonlyMap<string, number>): PackedCounts {
  const keys = [...counts.keys()];
  let total = 0;
  const c = new Uint32Array(keys.length);
  keys.forEach((w, i) => { c[i] = counts.get(w)!; total += c[i]!; });
  return { words: new TextEncoder().encode(keys.map((w) => `${w}\n`).join("")), counts: c, total };
}

/** Adds packed counts into `into` and returns `into`. */
export function mergePacked(into: Map<string, number>, p: PackedCounts): Map<string, number> {
  const words = new TextDecoder().decode(p.words).split("\n");
  for (let i = 0; i < p.counts.length; i++) {
    const w = words[i]!;
    into.set(w, (into.get(w) ?? 0) + p.counts[i]!);
  }
  return into;
}

