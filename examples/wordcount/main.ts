// Word count over Moby-Dick, repeated k times, on Strand.
//
// The text is split at whitespace into chunks, 2 per runner thread, and the chunks go into
// the cluster once, before the clock starts (as the single process has the text in its
// memory before its clock starts): `cluster.put` places each on the runner holding the
// fewest bytes so far, so they alternate. Each chunk is then counted remotely, on the runner
// that holds it, by countWords() (see count.ts for the tokenization), and the per-chunk
// counts are merged as they arrive: only the counts travel. The same countWords() on the
// whole text, on a worker thread of this process, is the single-process baseline; totals
// and every per-word count must be equal.
//
// Each k runs twice: with the JS kernel (count.ts) and with the Wasm one (count-wasm.ts,
// wordcount.c compiled to wordcount.wasm). `npm start` runs the Wasm kernel at WORDCOUNT_START.
//
//   npx tsx examples/wordcount/main.ts [k ...]        (default: 1 10 46 100)
//   npx strand run examples/wordcount/main.ts --runners a:7700,b:7700 --token t -- 46
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster, Ref, Remote } from "../../src/index.ts";
import {
  exampleMain, importWarm, isMain, repeatTrials, runInWorker, timed, totalThreads, type RepeatOptions, type Row,
} from "../common.ts";
import { mergeCounts, totalWords } from "./count.ts";
import { WasmMerger } from "./merge-wasm.ts";

type Counter = typeof import("./count.ts");
type WasmCounter = typeof import("./count-wasm.ts");
const COUNTER = new URL("./count.ts", import.meta.url);
const WASM_COUNTER = new URL("./count-wasm.ts", import.meta.url);

/** The kernels: count.ts in JS on strings, count-wasm.ts in C (wordcount.wasm) on UTF-8 bytes. */
export type WordcountKernel = "js" | "wasm";

/** The JS kernel's single-process counts of the last k run: the wasm rows are checked against them. */
let jsCounts: { k: number; counts: Map<string, number> } | undefined;

export const WORDCOUNT_REPEATS = [1, 10, 46, 100] as const;
/**
 * The k `npm start` runs, with the Wasm kernel: 125 MB, ~0.7 s in one process on a quiet
 * 2-core VM. At k = 10 (12.5 MB, ~70 ms) a distributed run's fixed costs (the calls, the
 * chunks' copies into linear memory, merging the tables) are a large share of it.
 */
export const WORDCOUNT_START = 100;

/**
 * The input: /work/shared/data/moby-dick.txt when the repository is /work/main
 * (STRAND_MOBY_DICK names another file, e.g. for a checkout elsewhere).
 */
export const MOBY_DICK = process.env["STRAND_MOBY_DICK"] !== undefined
  ? new URL(`file://${path.resolve(process.env["STRAND_MOBY_DICK"])}`)
  : new URL("../../../shared/data/moby-dick.txt", import.meta.url);

/** Chunks per runner thread: a runner counts its second chunk while the first one's counts go back and are merged. */
const CHUNKS_PER_THREAD = 2;

let mobyDick: string | undefined;

/** Reads the input once; fails with a message that says where the file was expected. */
export function readMobyDick(): string {
  if (mobyDick !== undefined) return mobyDick;
  const file = fileURLToPath(MOBY_DICK);
  try {
    mobyDick = readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "it does not exist" : e.message;
    throw new Error(`wordcount needs Moby-Dick at ${file} (../shared/data/moby-dick.txt next to the repository), but ${why}`, { cause: err });
  }
  return mobyDick;
}

/** Splits `text` into about `parts` pieces, each cut at a whitespace character, so that no word is split. */
export function splitAtWhitespace(text: string, parts: number): string[] {
  const chunks: string[] = [];
  let start = 0;
  for (let i = 1; i < parts && start < text.length; i++) {
    let cut = Math.max(start, Math.floor((i * text.length) / parts));
    while (cut < text.length && !/\s/.test(text[cut]!)) cut++;
    if (cut > start) chunks.push(text.slice(start, cut));
    start = cut;
  }
  if (start < text.length) chunks.push(text.slice(start));
  return chunks;
}

/** Moby-Dick repeated k times as UTF-8 bytes: the same text as `(readMobyDick() + "\n").repeat(k)`. */
export function mobyDickBytes(k: number): Buffer {
  const one = Buffer.from(readMobyDick() + "\n", "utf8");
  const out = Buffer.allocUnsafe(one.length * k);
  for (let i = 0; i < k; i++) one.copy(out, i * one.length);
  return out;
}

const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);

/** splitAtWhitespace for UTF-8 bytes: about `parts` views of `text` (no copy), each cut at an ASCII whitespace byte. */
export function splitBytesAtWhitespace(text: Uint8Array, parts: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (let i = 1; i < parts && start < text.length; i++) {
    let cut = Math.max(start, Math.floor((i * text.length) / parts));
    while (cut < text.length && !isSpace(text[cut]!)) cut++;
    if (cut > start) chunks.push(text.subarray(start, cut));
    start = cut;
  }
  if (start < text.length) chunks.push(text.subarray(start));
  return chunks;
}

const counterOn = (cluster: Cluster): Promise<Remote<Counter>> =>
  importWarm<Counter>(cluster, COUNTER, (c) => c.countWords("call me ishmael"));

const warmBytes = (): Uint8Array => Buffer.from(readMobyDick().slice(0, 100_000), "utf8");

const wasmCounterOn = (cluster: Cluster): Promise<Remote<WasmCounter>> =>
  importWarm<WasmCounter>(cluster, WASM_COUNTER, async (c) => {
    const warm = warmBytes();
    for (let i = 0; i < 5; i++) await c.countWordsPacked(warm); // past Liftoff: the hot loop tiers up
  });

/** Describes the first difference between two counts, or returns undefined if they are equal. */
function difference(got: ReadonlyMap<string, number>, want: ReadonlyMap<string, number>): string | undefined {
  if (got.size !== want.size) return `${got.size} distinct words, expected ${want.size}`;
  for (const [w, c] of want) {
    const g = got.get(w);
    if (g !== c) return `"${w}": ${g ?? "missing"}, expected ${c}`;
  }
  return undefined;
}

/**
 * Counts the words of Moby-Dick repeated k times in this process and on the cluster, and
 * checks that the counts are equal. Repeats while `opts` allow and reports the best times.
 */
export async function runWordcount(cluster: Cluster, k: number, opts: RepeatOptions = {}, kernel: WordcountKernel = "js"): Promise<Row> {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`repeat count must be a positive integer, got ${k}`);
  if (kernel === "wasm") return runWordcountWasm(cluster, k, opts);
  const remote = await counterOn(cluster);
  const text = (readMobyDick() + "\n").repeat(k);
  const warm = readMobyDick().slice(0, 100_000);
  const mb = Buffer.byteLength(text, "utf8") / 1e6;
  const shape = { example: "wordcount", size: `k=${k} (${mb.toFixed(1)} MB)`, cores: totalThreads(cluster), work: { amount: mb, unit: "MB" } };

  const putStart = performance.now();
  using chunks = await putChunks(cluster, splitAtWhitespace(text, CHUNKS_PER_THREAD * totalThreads(cluster))); // freed on the runners at the end
  const putMs = performance.now() - putStart;
  return await repeatTrials(shape, opts, async () => {
    // The baseline: the same function on the whole text, on one thread of this process.
    const [single, singleMs] = await runInWorker<Counter, "countWords">(COUNTER, "countWords", [text], [warm]);
    jsCounts = { k, counts: single };

    const [counts, strandMs] = await timed(async () => {
      const merged = new Map<string, number>();
      const pending: Promise<unknown>[] = [];
      for (const chunk of chunks.refs) {
        const p = remote.countWords(chunk).then((m) => mergeCounts(merged, m));
        p.catch(() => {}); // handled by Promise.all below; this keeps an early failure from counting as unhandled
        pending.push(p);
      }
      await Promise.all(pending);
      return merged;
    });

    const total = totalWords(counts);
    const expectedTotal = totalWords(single);
    const diff = total !== expectedTotal ? `${total} words, expected ${expectedTotal}` : difference(counts, single);
    return { singleMs, strandMs, ok: diff === undefined, detail: `${diff ?? `${total} words, ${counts.size} distinct`}; ${putNote(chunks, putMs)}` };
  });
}

/** Chunks of the input as the cluster holds them. */
interface Chunks<T> extends Disposable {
  refs: Ref<T>[];
}

/**
 * Puts the chunks into the cluster one after another: each put goes to the runner holding
 * the fewest bytes so far, so they alternate between the runners. A call given a chunk's
 * Ref then runs where the chunk is.
 */
async function putChunks<T>(cluster: Cluster, chunks: readonly T[]): Promise<Chunks<T>> {
  const refs: Ref<T>[] = [];
  const release = (): void => {
    for (const r of refs) r.release();
  };
  try {
    for (const c of chunks) refs.push(await cluster.put(c));
  } catch (err) {
    release();
    throw err;
  }
  return { refs, [Symbol.dispose]: release };
}

const putNote = (chunks: Chunks<unknown>, putMs: number): string => `${chunks.refs.length} chunks put beforehand in ${putMs.toFixed(0)} ms`;

/**
 * The JS kernel's counts of Moby-Dick repeated k times: the JS row's if it just ran for this
 * k, else one copy counted here (untimed) and multiplied by k. The text is k copies of the
 * book, each ending in a newline, so every word's count is exactly k times its count in one.
 */
async function jsReference(k: number): Promise<Map<string, number>> {
  if (jsCounts?.k === k) return jsCounts.counts;
  const [one] = await runInWorker<Counter, "countWords">(COUNTER, "countWords", [readMobyDick() + "\n"]);
  return new Map([...one].map(([w, c]) => [w, c * k]));
}

/**
 * The Wasm row: the text as UTF-8 bytes, cut at whitespace into views (no copy) and put
 * into the cluster beforehand; each chunk counted remotely by countWordsPacked() and its
 * compact table merged as it arrives (in Wasm too: merge-wasm.ts), one Map built at the
 * end. The single-process run is the same kernel on all the bytes; both must equal the JS
 * kernel's counts (jsReference: untimed).
 */
async function runWordcountWasm(cluster: Cluster, k: number, opts: RepeatOptions): Promise<Row> {
  const remote = await wasmCounterOn(cluster);
  const bytes = mobyDickBytes(k);
  const mb = bytes.length / 1e6;
  const shape = { example: "wordcount (wasm)", size: `k=${k} (${mb.toFixed(1)} MB)`, cores: totalThreads(cluster), work: { amount: mb, unit: "MB" } };
  const reference = await jsReference(k);
  const putStart = performance.now();
  using chunks = await putChunks(cluster, splitBytesAtWhitespace(bytes, CHUNKS_PER_THREAD * totalThreads(cluster))); // freed on the runners at the end
  const putMs = performance.now() - putStart;

  return await repeatTrials(shape, opts, async () => {
    const [single, singleMs] = await runInWorker<WasmCounter, "countWordsWasm">(WASM_COUNTER, "countWordsWasm", [bytes], [warmBytes()]);
    const [counts, strandMs] = await timed(async () => {
      const merger = new WasmMerger();
      const pending: Promise<unknown>[] = [];
      for (const chunk of chunks.refs) {
        const p = remote.countWordsPacked(chunk).then((packed) => merger.add(packed));
        p.catch(() => {}); // handled by Promise.all below
        pending.push(p);
      }
      await Promise.all(pending);
      return merger.result();
    });
    const diff = difference(counts, single) ?? difference(single, reference);
    return { singleMs, strandMs, ok: diff === undefined, detail: `${diff ?? `${totalWords(counts)} words, ${counts.size} distinct; equal to the JS kernel's counts`}; ${putNote(chunks, putMs)}` };
  });
}

/** Both kernels at k: the JS row, then the Wasm row (checked against the JS row's counts). */
export async function runWordcountBoth(cluster: Cluster, k: number, opts: RepeatOptions = {}): Promise<Row[]> {
  return [await runWordcount(cluster, k, opts, "js"), await runWordcount(cluster, k, opts, "wasm")];
}

if (isMain(import.meta.url)) await exampleMain("wordcount", "k", WORDCOUNT_REPEATS, runWordcountBoth, readMobyDick);
