// Wasm kernels inside TypeScript modules against their peers, all measured in this run
// (issue 16's targets):
//   - matmul n = 1024: Gluster's Go kernel (textbook i-j-k over [][]float64, one process,
//     GOMAXPROCS=1), the C kernel of examples/matmul/matmul.c compiled natively (gcc -O3 for
//     baseline x86-64, whose SSE2 is Wasm SIMD's 128-bit width, and -march=native beside it),
//     the same C as Wasm on one core, and Strand on 2 local runners splitting A's rows over
//     the Wasm kernel. Targets: Wasm >= 75% of gcc -O3's speed; Strand >= 10x the Go program.
//   - word count of Moby-Dick x46 (57.7 MB): a Go program (bufio + map[string]int, the same
//     tokenization) reading the file, the Wasm kernel on one core, and Strand on 2 local
//     runners (the bytes cut at whitespace, packed tables back, merged in Wasm). Target:
//     Strand faster than Go.
// Medians and ranges over the reps; every result is checked (matmul bit for bit against the
// Wasm kernel in this process, word count by totals against Go and every count against the
// Wasm kernel in this process). Go and gcc are built into a temp dir; a missing toolchain
// drops its rows with a note. Nothing asserts on timings.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { local, registerWasmImports, type Cluster, type Remote } from "../src/index.ts";
import { randomMatrix } from "../examples/matmul/kernel.ts";
import { mobyDickBytes, readMobyDick, splitBytesAtWhitespace } from "../examples/wordcount/main.ts";
import { WasmMerger } from "../examples/wordcount/merge-wasm.ts";
import { footer, median, num, progress, quick, ratio, reps, spread, table } from "./common.ts";

type MatmulWasm = typeof import("../examples/matmul/kernel-wasm.ts");
type CountWasm = typeof import("../examples/wordcount/count-wasm.ts");

/** `--matmul` (or BENCH_WASM=matmul): the matmul rows only, without word count. */
const matmulOnly = process.argv.includes("--matmul") || process.env.BENCH_WASM === "matmul";
const N = quick ? 512 : 1024;
const K = quick ? 4 : 46;
const REPS = reps(5, 2);
const BLOCKS_PER_THREAD = 4;
const CHUNKS_PER_THREAD = 4;

const root = fileURLToPath(new URL("..", import.meta.url));
const here = path.join(root, "bench", "wasm");
const tmp = mkdtempSync(path.join(os.tmpdir(), "strand-bench-wasm-"));

interface Measured {
  ms: number[];
  note?: string;
}

const stats = (m: Measured): string => (m.ms.length === 0 ? "-" : `${num(median(m.ms))} (${spread(m.ms)})`);

/** Runs a peer program `reps` times (it loops itself); parses its "ms <x> ..." lines. */
function runPeer(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number[]; lines: string[] } {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.error?.message}`);
  const lines = r.stdout.trim().split("\n");
  return { ms: lines.map((l) => Number(/^ms (\S+)/.exec(l)?.[1])), lines };
}

/** Builds bench/wasm/<name>.go as a module of its own in the temp dir; undefined if Go is missing. */
function buildGo(name: string): string | undefined {
  const dir = path.join(tmp, `go-${name}`);
  try {
    execFileSync("mkdir", ["-p", dir]);
    copyFileSync(path.join(here, `${name}.go`), path.join(dir, "main.go"));
    writeFileSync(path.join(dir, "go.mod"), `module ${name}\n\ngo 1.19\n`);
    execFileSync("go", ["build", "-o", path.join(dir, name), "."], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    return path.join(dir, name);
  } catch (err) {
    progress(`wasm: cannot build ${name}.go (${(err as Error).message.split("\n")[0]}): its row is left out`);
    return undefined;
  }
}

function buildNative(flags: string[]): string | undefined {
  const out = path.join(tmp, `matmul-native${flags.join("")}`);
  try {
    execFileSync("gcc", ["-O3", ...flags, path.join(here, "matmul-native.c"), "-o", out], { stdio: ["ignore", "ignore", "pipe"] });
    return out;
  } catch (err) {
    progress(`wasm: cannot build matmul-native.c with gcc ${flags.join(" ")} (${(err as Error).message.split("\n")[0]})`);
    return undefined;
  }
}

/** Wall times of `reps` calls of f after `warm` untimed ones. */
async function timeReps<T>(warm: number, count: number, f: () => T | Promise<T>): Promise<{ ms: number[]; last: T }> {
  let last: T | undefined;
  for (let i = 0; i < warm; i++) last = await f();
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    last = await f();
    ms.push(performance.now() - t0);
  }
  return { ms, last: last as T };
}

function ranges(rows: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i): [number, number] => [Math.floor((i * rows) / parts), Math.floor(((i + 1) * rows) / parts)]);
}

const threadsOf = (cluster: Cluster): number => cluster.runners.reduce((s, r) => s + r.threads, 0);

async function strandMatmul(cluster: Cluster, remote: Remote<MatmulWasm>, A: Float64Array, B: Float64Array): Promise<Float64Array> {
  const refB = await cluster.put(B);
  try {
    const C = new Float64Array(N * N);
    await Promise.all(ranges(N, BLOCKS_PER_THREAD * threadsOf(cluster)).map(async ([from, to]) => {
      C.set(await remote.multiplyRows(A.subarray(from * N, to * N), refB, N), from * N);
    }));
    return C;
  } finally {
    refB.release();
  }
}

async function strandWordcount(cluster: Cluster, remote: Remote<CountWasm>, text: Uint8Array): Promise<Map<string, number>> {
  const merger = new WasmMerger();
  const pending = splitBytesAtWhitespace(text, CHUNKS_PER_THREAD * threadsOf(cluster)).map((chunk) => {
    const p = remote.countWordsPacked(chunk).then((packed) => merger.add(packed));
    p.catch(() => {}); // handled by Promise.all below
    return p;
  });
  await Promise.all(pending);
  return merger.result();
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [w, c] of a) if (b.get(w) !== c) return false;
  return true;
}

function printMatmul(go: Measured, gcc: Measured, native: Measured, one: { ms: number[]; last: Float64Array }, strandMm: { ms: number[]; last: Float64Array }, cores: number): void {
  const bitEqual = strandMm.last.every((x, i) => Object.is(x, one.last[i]));
  const goSum = go.ms.length > 0 ? (go as { lines?: string[] }).lines?.[0]?.split(" ")[3] : undefined;
  const mmRows = [
    ["Go, textbook i-j-k over [][]float64 (Gluster's kernel)", "1", stats(go), "1.00x", go.ms.length > 0 ? `sum ${goSum}` : go.note ?? ""],
    ["C kernel, gcc -O3 (baseline x86-64, SSE2)", "1", stats(gcc), ratio(median(go.ms) / median(gcc.ms)), ""],
    ["C kernel, gcc -O3 -march=native", "1", stats(native), ratio(median(go.ms) / median(native.ms)), ""],
    ["Wasm kernel (same C, clang -O3 -msimd128), this process", "1", stats(one), ratio(median(go.ms) / median(one.ms)),
      `${num((2 * N ** 3) / 1e6 / median(one.ms), 1)} GFLOP/s; ${num((100 * median(gcc.ms)) / median(one.ms))}% of gcc -O3's speed (target >= 75%)`],
    ["Strand, 2 local runners, Wasm kernel (put B, A in blocks)", String(cores), stats(strandMm), ratio(median(go.ms) / median(strandMm.ms)),
      `target >= 10x; C ${bitEqual ? "equal bit for bit to" : "DIFFERENT from"} the Wasm kernel's in this process`],
  ];
  console.log(`### Wasm kernels: matmul n = ${N} (ms: median (range) over ${REPS} reps; Go ${go.ms.length} rep(s))\n`);
  console.log(table(["run", "cores", "ms", "speedup vs Go", "note"], mmRows));
  console.log();

}

async function main(): Promise<void> {
  registerWasmImports(); // this process calls the kernel modules directly (the one-core rows)
  const kernel = (await import("../examples/matmul/kernel-wasm.ts")) as MatmulWasm;
  const counter = (await import("../examples/wordcount/count-wasm.ts")) as CountWasm;
  const A = randomMatrix(N, 1);
  const B = randomMatrix(N, 2);

  // --- matmul ---
  progress(`wasm: matmul n=${N}: peers`);
  const goMatmul = buildGo("matmul");
  const go: Measured = goMatmul === undefined ? { ms: [], note: "go missing" } : runPeer(goMatmul, [String(N), String(reps(3, 1))], { GOMAXPROCS: "1" });
  const gccBin = buildNative([]);
  const gcc: Measured = gccBin === undefined ? { ms: [] } : runPeer(gccBin, [String(N), String(REPS + 1)]);
  gcc.ms.shift(); // the first rep faults its pages in
  const nativeBin = buildNative(["-march=native"]);
  const native: Measured = nativeBin === undefined ? { ms: [] } : runPeer(nativeBin, [String(N), String(REPS + 1)]);
  native.ms.shift();

  progress(`wasm: matmul n=${N}: Wasm kernel on one core`);
  // Warm-up: Liftoff runs the first calls; the kernel tiers up to TurboFan while they run.
  const one = await timeReps(3, REPS, () => kernel.multiplyRows(A, B, N));

  progress(`wasm: matmul n=${N}: Strand on 2 runners`);
  const cluster = await local({ runners: 2 });
  const cores = threadsOf(cluster);
  let strandMm: { ms: number[]; last: Float64Array };
  let wc: { ms: number[]; last: Map<string, number> };
  let oneWc: { ms: number[]; last: Map<string, number> };
  let goWc: Measured & { lines?: string[] };
  const text = matmulOnly ? new Uint8Array(0) : mobyDickBytes(K);
  try {
    const remoteMm = await cluster.import<MatmulWasm>(new URL("../examples/matmul/kernel-wasm.ts", import.meta.url));
    const small = randomMatrix(128, 3);
    await Promise.all(Array.from({ length: 4 * threadsOf(cluster) }, () => remoteMm.multiplyRows(small, small, 128)));
    strandMm = await timeReps(2, REPS, () => strandMatmul(cluster, remoteMm, A, B));
    if (matmulOnly) {
      printMatmul(go, gcc, native, one, strandMm, cores);
      console.log(footer([`Strand: \`local({ runners: 2 })\` (${cores} runner thread(s) in all, unpinned), ${BLOCKS_PER_THREAD} blocks of A per runner thread; B sent once as a Ref.`]));
      return;
    }

    // --- word count ---
    progress(`wasm: wordcount x${K}: peers`);
    const file = path.join(tmp, `moby-dick-x${K}.txt`);
    writeFileSync(file, text);
    const goWcBin = buildGo("wordcount");
    goWc = goWcBin === undefined ? { ms: [], note: "go missing" } : runPeer(goWcBin, [file, String(REPS + 1)]);
    goWc.ms.shift(); // the first rep reads the file into the page cache
    progress(`wasm: wordcount x${K}: Wasm kernel on one core`);
    oneWc = await timeReps(2, REPS, () => counter.countWordsWasm(text));
    progress(`wasm: wordcount x${K}: Strand on 2 runners`);
    const remoteWc = await cluster.import<CountWasm>(new URL("../examples/wordcount/count-wasm.ts", import.meta.url));
    const warm = Buffer.from(readMobyDick().slice(0, 200_000), "utf8");
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 2 * threadsOf(cluster) }, () => remoteWc.countWordsPacked(warm)));
    wc = await timeReps(2, REPS, () => strandWordcount(cluster, remoteWc, text));
  } finally {
    await cluster.close();
    rmSync(tmp, { recursive: true, force: true });
  }

  printMatmul(go, gcc, native, one, strandMm, cores);

  const goTotal = goWc.lines?.[0] !== undefined ? Number(/words (\d+)/.exec(goWc.lines[0])?.[1]) : undefined;
  let total = 0;
  for (const c of wc.last.values()) total += c;
  const countsEqual = sameCounts(wc.last, oneWc.last);
  const wcRows = [
    ["Go, bufio + map[string]int (reads the file)", "1", stats(goWc), "1.00x", goTotal !== undefined ? `${num(goTotal)} words` : goWc.note ?? ""],
    ["Wasm kernel, this process", "1", stats(oneWc), ratio(median(goWc.ms) / median(oneWc.ms)), `${num(text.length / 1e3 / median(oneWc.ms))} MB/s`],
    ["Strand, 2 local runners, Wasm kernel (bytes in chunks, packed tables merged in Wasm)", String(cores), stats(wc), ratio(median(goWc.ms) / median(wc.ms)),
      `target > 1x; ${num(total)} words, ${num(wc.last.size)} distinct; ${countsEqual ? "every count equal to" : "counts DIFFER from"} the kernel's in this process${goTotal === undefined || goTotal === total ? "" : "; total DIFFERS from Go's"}`],
  ];
  console.log(`### Wasm kernels: word count of Moby-Dick x${K} (${num(text.length / 1e6, 1)} MB; ms: median (range) over ${REPS} reps)\n`);
  console.log(table(["run", "cores", "ms", "speedup vs Go", "note"], wcRows));
  console.log();
  console.log(footer([
    `Strand: \`local({ runners: 2 })\` (defaults: ${cores} runner thread(s) in all, unpinned), ${BLOCKS_PER_THREAD} blocks of A / ${CHUNKS_PER_THREAD} chunks of text per runner thread; B sent once as a Ref; timed from the matrices / bytes in the driver's memory to the result in it.`,
    "Peers built into a temp dir: `go build` (bench/wasm/*.go), `gcc -O3 [-march=native] bench/wasm/matmul-native.c` (includes examples/matmul/matmul.c); their first rep is dropped (page faults, page cache).",
  ]));
}

await main();
