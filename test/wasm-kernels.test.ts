// Wasm kernels inside TypeScript modules (issue 16, section 2): a module importing a .wasm
// runs on real runners with typed arrays in and out through strand/runtime's wasmKernel();
// each thread compiles and instantiates a module once; views die when memory grows; the
// examples' kernels (matmul.wasm, wordcount.wasm, pi.wasm, stencil.wasm) give the JS kernels' results exactly, on
// the runners; and the committed .wasm files are what their C sources build to today.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { local, type Cluster, type Remote } from "../src/index.ts";
import { wasmKernel } from "../src/runtime.ts";
import { buildKernels, CLANG_FLAGS } from "../examples/build-kernels.ts";
import { multiplyRows, randomMatrix } from "../examples/matmul/kernel.ts";
import { countWords } from "../examples/wordcount/count.ts";
import { heatSingle, initialBlock } from "../examples/heat/kernel.ts";
import { countAll, countHits, seedOf } from "../examples/pi/kernel.ts";
import { mobyDickBytes, readMobyDick, splitBytesAtWhitespace } from "../examples/wordcount/main.ts";
import { WasmMerger } from "../examples/wordcount/merge-wasm.ts";
import { mergePacked, type PackedCounts } from "../examples/wordcount/packed.ts";
import { removeDir, tempDir } from "./helpers.ts";

type Fixture = typeof import("./fixtures/wasm-kernel-module.ts");
type MatmulWasm = typeof import("../examples/matmul/kernel-wasm.ts");
type CountWasm = typeof import("../examples/wordcount/count-wasm.ts");
type PiWasm = typeof import("../examples/pi/kernel-wasm.ts");
type HeatWasm = typeof import("../examples/heat/kernel-wasm.ts");

const root = fileURLToPath(new URL("..", import.meta.url));
const examples = path.join(root, "examples");

let dir: string;
let cluster: Cluster;
let fixture: Remote<Fixture>;
let matmul: Remote<MatmulWasm>;
let counter: Remote<CountWasm>;
let pi: Remote<PiWasm>;
let heat: Remote<HeatWasm>;

beforeAll(async () => {
  dir = await tempDir("strand-wasm-kernels-");
  execFileSync("clang", [...CLANG_FLAGS, path.join(root, "test/fixtures/wasm/kernel.c"), "-o", path.join(dir, "kernel.wasm")]);
  const source = await readFile(path.join(root, "test/fixtures/wasm-kernel-module.ts"), "utf8");
  await writeFile(path.join(dir, "module.ts"), source.replace("../../src/runtime.ts", path.join(root, "src/runtime.ts")));
  cluster = await local({ runners: 2, threads: 1 });
  [fixture, matmul, counter, pi, heat] = await Promise.all([
    cluster.import<Fixture>(path.join(dir, "module.ts")),
    cluster.import<MatmulWasm>(path.join(examples, "matmul/kernel-wasm.ts")),
    cluster.import<CountWasm>(path.join(examples, "wordcount/count-wasm.ts")),
    cluster.import<PiWasm>(path.join(examples, "pi/kernel-wasm.ts")),
    cluster.import<HeatWasm>(path.join(examples, "heat/kernel-wasm.ts")),
  ]);
});

afterAll(async () => {
  await cluster?.close();
  if (dir !== undefined) await removeDir(dir);
});

/** Calls f on every runner: one call per runner thread, placed at once. */
const onEveryRunner = <T>(f: () => Promise<T>): Promise<T[]> => Promise.all(cluster.runners.map(() => f()));

describe("a .wasm import inside a TS module, on runners", () => {
  it("takes typed arrays in and gives typed arrays out", async () => {
    const xs = Float64Array.from({ length: 1000 }, (_, i) => i / 3);
    const results = await Promise.all(Array.from({ length: 8 }, () => fixture.scale(xs, 2.5)));
    for (const r of results) {
      expect(r).toBeInstanceOf(Float64Array);
      expect([...r]).toEqual([...xs].map((x) => x * 2.5));
    }
    const a = Int32Array.from({ length: 257 }, (_, i) => i - 100);
    const b = Int32Array.from({ length: 257 }, (_, i) => 3 * i);
    const sum = await fixture.add(a, b);
    expect(sum).toBeInstanceOf(Int32Array);
    expect([...sum]).toEqual([...a].map((x, i) => x + b[i]!));
  });

  it("compiles and instantiates once per thread, and calls do not grow the heap", async () => {
    const xs = new Float64Array(100_000);
    for (let i = 0; i < 20; i++) await Promise.all([fixture.scale(xs, 1), fixture.scale(xs, 1)]);
    const before = await onEveryRunner(() => fixture.stats());
    for (let i = 0; i < 20; i++) await Promise.all([fixture.scale(xs, 1), fixture.scale(xs, 1)]);
    const after = await onEveryRunner(() => fixture.stats());
    const sum = (ss: typeof before, k: "compiles" | "instantiations" | "pages"): number => ss.reduce((t, x) => t + x[k], 0);
    for (const s of [...before, ...after]) expect(s.compiles + s.fromRunner).toBe(s.modules); // never a module compiled twice
    expect(sum(after, "compiles")).toBe(sum(before, "compiles"));
    expect(sum(after, "instantiations")).toBe(sum(before, "instantiations"));
    expect(sum(after, "pages")).toBe(sum(before, "pages"));
  });

  it("loadWasmKernel compiles once per runner: the runner's cache serves its other threads", async () => {
    await using one = await local({ runners: 1, threads: 2 });
    const m = await one.import<Fixture>(path.join(dir, "module.ts"));
    const seen = await Promise.all(Array.from({ length: 12 }, () => m.loadStats()));
    for (const s of seen) expect(s).toMatchObject({ compiles: 0, fromRunner: 1, instantiations: 1 });
    const [stats] = await one.runnerStats();
    expect(stats!.wasmCompiles).toBe(1);
  });

  it("invalidates a view when memory grows; view() again sees the same data", async () => {
    expect(await fixture.growDetachesViews()).toEqual({ before: 3, stale: 0, fresh: 3, first: 7, grew: true });
  });
});

describe("the examples' Wasm kernels equal their JS kernels", () => {
  it("matmul: bit for bit, for sizes and row blocks that are not multiples of the tile", async () => {
    for (const n of [1, 5, 67, 300]) {
      const A = randomMatrix(n, 11), B = randomMatrix(n, 12);
      const want = multiplyRows(A, B, n);
      const cuts = [0, Math.floor(n / 3), Math.floor(n / 3) + Math.min(5, n - Math.floor(n / 3)), n];
      const parts = await Promise.all(cuts.slice(1).map((to, i) => matmul.multiplyRows(A.subarray(cuts[i]! * n, to * n), B, n)));
      const got = new Float64Array(n * n);
      parts.forEach((p, i) => got.set(p, cuts[i]! * n));
      expect(got.every((x, i) => Object.is(x, want[i]))).toBe(true);
    }
  });

  it("word count: the same counts as count.ts on Moby-Dick, chunked over the runners", async () => {
    const text = mobyDickBytes(1);
    const want = countWords(readMobyDick() + "\n");
    const packs = await Promise.all(splitBytesAtWhitespace(text, 6).map((c) => counter.countWordsPacked(c)));
    const js = new Map<string, number>();
    const merger = new WasmMerger();
    for (const p of packs) {
      mergePacked(js, p);
      merger.add(p);
    }
    expect(js).toEqual(want);
    expect(merger.result()).toEqual(want);
  });

  it("word count: the same words as count.ts on the hard cases (apostrophes, non-ASCII, invalid UTF-8, Σ and İ)", async () => {
    const cases: Uint8Array[] = [
      "whale’s 'tis o'er' ahoy' x’ ’y a’’b ab' 'ab", "Café CAFÉ naïve Straße ǅ ǈ ÆSIR Ærø", "ΟΔΟΣ ΣΟΦΟΣ σοφός", "İstanbul DİYARBAKIR",
      "digits2words and_under-scores 12abc", "x\u{1D400}y \u{10400}\u{10428} emoji😀word", "",
    ].map((s) => new TextEncoder().encode(s));
    cases.push(Uint8Array.from([0x61, 0xe2, 0x80, 0x62, 0xc3, 0x41, 0xf0, 0x9f, 0x98, 0x63, 0xed, 0xa0, 0x80, 0x64, 0xc0, 0xaf, 0x65, 0xe0, 0x80, 0xaf, 0x66, 0xff]));
    for (const bytes of cases) {
      const p: PackedCounts = await counter.countWordsPacked(bytes);
      expect(mergePacked(new Map(), p)).toEqual(countWords(new TextDecoder().decode(bytes)));
    }
  });
});

describe("pi's and heat's Wasm kernels equal their JS kernels", () => {
  it("pi: the same hits for every seed, and for sizes that are not multiples of the four lanes", async () => {
    const cases = [[0, 0], [1, 0], [2, 1], [3, 2], [4, 3], [5, 7], [1_000_003, 0], [999_999, 1], [250_001, 12345]] as const;
    const got = await Promise.all(cases.map(([n, r]) => pi.countHits(n, seedOf(r))));
    expect(got).toEqual(cases.map(([n, r]) => countHits(n, seedOf(r))));
    expect(await pi.countAll(300_007, 3)).toBe(countAll(300_007, 3));
    await expect(pi.countHits(-1, 0)).rejects.toThrow(/samples must be a whole number/);
  });

  it("heat: the JS kernel's field bit for bit, for grids smaller than a tile and spanning several, steps no multiple of the halo", async () => {
    for (const [n, steps] of [[3, 1], [4, 9], [23, 31], [1001, 60], [20_000, 457], [9_000, 0]] as const) {
      const got = await heat.heatSingle(n, steps);
      const want = heatSingle(n, steps);
      expect(got.every((x, i) => Object.is(x, want[i])), `n=${n} steps=${steps}`).toBe(true);
      if (steps > 0 && n > 3) expect(got).not.toEqual(initialBlock(n, 0, n));
    }
  });
});

describe("the committed kernels", () => {
  let built: string;
  beforeAll(async () => {
    built = await tempDir("strand-wasm-build-");
    buildKernels(built);
  });
  afterAll(() => removeDir(built));

  /** Both files' instances, by wasmKernel on the bytes (different bytes, different instances). */
  const both = async (name: string): Promise<[Uint8Array, Uint8Array]> => [
    await readFile(path.join(examples, name)),
    await readFile(path.join(built, path.basename(name))),
  ];

  it("matmul.wasm behaves as matmul.c rebuilt with clang today", async () => {
    const [committed, rebuilt] = await both("matmul/matmul.wasm");
    const n = 130;
    const A = randomMatrix(n, 5), B = randomMatrix(n, 6);
    const run = (bytes: Uint8Array): Float64Array => {
      const k = wasmKernel<{ matmul(a: number, b: number, c: number, rows: number, n: number): void }>(bytes);
      using a = k.copyIn(A);
      using b = k.copyIn(B);
      using c = k.alloc(Float64Array, n * n);
      k.exports.matmul(a.ptr, b.ptr, c.ptr, n, n);
      return c.copyOut();
    };
    const want = multiplyRows(A, B, n);
    for (const bytes of [committed, rebuilt]) expect(run(bytes).every((x, i) => Object.is(x, want[i]))).toBe(true);
  });

  it("wordcount.wasm behaves as wordcount.c rebuilt with clang today", async () => {
    const [committed, rebuilt] = await both("wordcount/wordcount.wasm");
    const text = Buffer.concat([mobyDickBytes(1), Buffer.from(" ΣΟΦΟΣ")]);
    const run = (bytes: Uint8Array, t: Uint8Array): number[] => {
      const k = wasmKernel<{ wc_count(p: number, n: number): number }>(bytes);
      using input = k.copyIn(t);
      const out = k.exports.wc_count(input.ptr, t.length);
      const head = [...new Uint32Array(k.memory.buffer, out, 4)];
      const body = [...new Uint8Array(k.memory.buffer, out + 16, 4 * head[1]! + head[3]!)];
      k.exports.strand_free(out);
      return [...head, body.length, body.reduce((h, b) => (h * 31 + b) >>> 0, 7)];
    };
    for (const t of [mobyDickBytes(1), text]) expect(run(rebuilt, t)).toEqual(run(committed, t));
    expect(run(committed, text)[0]).toBe(1); // Σ: left to the JS kernel
  });

  it("pi.wasm and stencil.wasm behave as pi.c and stencil.c rebuilt with clang today", async () => {
    const [piCommitted, piRebuilt] = await both("pi/pi.wasm");
    const hits = (bytes: Uint8Array): number[] => {
      const k = wasmKernel<{ pi_hits(samples: number, state: number): number }>(bytes);
      return [0, 1, 7, 100_003].map((n) => k.exports.pi_hits(n, seedOf(1)) >>> 0);
    };
    expect(hits(piRebuilt)).toEqual(hits(piCommitted));
    expect(hits(piCommitted)).toEqual([0, 1, 7, 100_003].map((n) => countHits(n, seedOf(1))));

    const [heatCommitted, heatRebuilt] = await both("heat/stencil.wasm");
    const n = 10_000, h = 150;
    const field = (bytes: Uint8Array): Float64Array => {
      const k = wasmKernel<{ heat_advance(u: number, v: number, a: number, b: number, cmin: number, cmax: number, h: number): number }>(bytes);
      using u = k.copyIn(initialBlock(n, 0, n));
      using v = k.copyIn(initialBlock(n, 0, n));
      expect(k.exports.heat_advance(u.ptr, v.ptr, 1 - h, n - 1 + h, 1, n - 1, h)).toBe(0);
      expect(k.exports.heat_advance(u.ptr, v.ptr, 0, n, 1, n - 1, 257)).toBe(-1); // deeper than its buffers
      return v.copyOut();
    };
    expect(field(heatRebuilt)).toEqual(field(heatCommitted));
    expect(field(heatCommitted)).toEqual(heatSingle(n, h));
  });

  it("the allocator reuses a freed block below the top and gives the heap back when all is freed", async () => {
    const k = wasmKernel(await readFile(path.join(examples, "matmul/matmul.wasm")));
    const a = k.alloc(Uint8Array, 100_000), b = k.alloc(Uint8Array, 10), c = k.alloc(Uint8Array, 10);
    a.free();
    const d = k.alloc(Uint8Array, 50_000);
    expect(d.ptr).toBe(a.ptr); // first fit, split
    const e = k.alloc(Uint8Array, 40_000);
    expect(e.ptr).toBeGreaterThan(d.ptr);
    expect(e.ptr).toBeLessThan(b.ptr); // the rest of a's block
    for (const x of [c, d, b, e]) x.free();
    const f = k.alloc(Uint8Array, 16);
    expect(f.ptr).toBe(a.ptr); // everything merged and given back: the heap starts over
    f.free();
    using g = k.copyIn(Buffer.from([1, 2, 3])); // a Buffer: its view is a plain Uint8Array (Buffer's constructor is deprecated)
    expect(g.view().constructor).toBe(Uint8Array);
    expect([...g.copyOut()]).toEqual([1, 2, 3]);
  });
});
