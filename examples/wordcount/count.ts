// The word-count kernel. Plain exported functions with no Strand imports: the benchmark
// calls them in-process for the single-process baseline and on the runners.
//
// Tokenization (the same everywhere, so counts can be compared exactly):
//   1. the text is lowercased with String.prototype.toLowerCase();
//   2. a word is a maximal run of Unicode letters (\p{L}), optionally joined by
//      apostrophes between letters: "whale's", "whale’s" and "o'er" are one word each,
//      "'tis" is "tis" and a quote like 'ahoy' is "ahoy";
//   3. the typographic apostrophe ’ (U+2019) is normalized to ', so "whale’s" and
//      "whale's" are the same word.
// Everything else (digits, punctuation, dashes, whitespace) separates words. No word
// contains whitespace, so a text split at whitespace counts the same as the whole text.

const WORD = /\p{L}+(?:['’]\p{L}+)*/gu;

/** Counts the words of `text` (see the tokenization above). */
export function countWords(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.toLowerCase().matchAll(WORD)) {
    let w = m[0];
    if (w.includes("’")) w = w.replaceAll("’", "'");
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/** Adds the counts of `from` into `into` and returns `into`. */
export function mergeCounts(into: Map<string, number>, from: ReadonlyMap<string, number>): Map<string, number> {
  for (const [w, c] of from) into.set(w, (into.get(w) ?? 0) + c);
  return into;
}

/** The sum of all counts: the number of words. */
export function totalWords(counts: ReadonlyMap<string, number>): number {
  let t = 0;
  for (const c of counts.values()) t += c;
  return t;
}
