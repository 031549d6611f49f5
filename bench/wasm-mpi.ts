// MPI from a C program compiled to Wasm against the same loops in TypeScript ranks, and
// against the same C source built natively with Open MPI (issue 16: "MPI calls from Wasm cost
// what they cost from TypeScript", within 1.2x). One C source, bench/mpi/mpibench.c, built
// twice: `strand cc` (its ranks run as Strand Wasm ranks) and `mpicc` (run by Open MPI's
// mpirun over TCP). The TypeScript side is bench/fixtures/mpi-ranks.ts, the loops of
// bench/mpi.ts. Everything on 2 ranks, one per runner (2 runners × 1 thread), defaults,
// unpinned; reps alternate the three sides loop by loop, so that load drifts over all of them.
//
// Also the size row: the .wasm against the native program. Debian's Open MPI ships no static
// libraries (`mpicc -static` cannot link: no libmpi.a), so the native side is the dynamic
// binary, and the binary plus every shared library it loads (ldd): what a host must have.
// Nothing asserts on timings.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clangArgs } from "../src/cli/cc-command.ts";
import { local, type Cluster, type RemoteLogLine, type Remote } from "../src/index.ts";
import type { RankTimes } from "./fixtures/mpi-ranks.ts";
import { footer, median, num, percentile, progress, quick, reps, spread, table } from "./common.ts";
import { runMpiBench, setUpMpi } from "./mpi/openmpi.ts";

type Ranks = typeof import("./fixtures/mpi-ranks.ts");
type Side = "ts" | "wasm" | "tcp";

const REPS = reps(5, 2);
const DOUBLES = 1 << 20;
const TIMEOUT_MS = 180_000;

interface Loop {
  key: "lat" | "ar2";
  test: "pingpong" | "allreduce";
  n: number;
  warm: number;
  iters: number;
}

const LOOPS: readonly Loop[] = [
  // At most 1,500 timed round trips: rank 0 prints them all on one line, and a remote output
  // line is cut at 16 KiB (5,000 times did not fit).
  { key: "lat", test: "pingpong", n: 8, warm: quick ? 300 : 2000, iters: quick ? 1000 : 1500 },
  { key: "ar2", test: "allreduce", n: DOUBLES, warm: 3, iters: quick ? 5 : 20 },
];

const root = fileURLToPath(new URL("..", import.meta.url));
const source = path.join(root, "bench", "mpi", "mpibench.c");
const outDir = path.join(root, "bench", ".out", "wasm-mpi");
const wasmFile = path.join(outDir, "mpibench.wasm");
const nativeFile = path.join(outDir, "mpibench");

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** Per loop and side, each rep's per-iteration µs. */
const times = new Map<string, number[][]>();
const failed = new Map<Side, string>();

async function attempt(side: Side, loop: Loop, f: () => Promise<number[]>): Promise<void> {
  if (failed.has(side)) return;
  try {
    const us = await f();
    if (us.length !== loop.iters) throw new Error(`got ${us.length} times, expected ${loop.iters}`);
    const k = `${loop.key}/${side}`;
    times.set(k, [...(times.get(k) ?? []), us]);
  } catch (err) {
    failed.set(side, `${loop.key}: ${describe(err)}`);
    progress(`wasm-mpi: ${side} failed on ${loop.key}: ${describe(err)}`);
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Rank 0's MPIBENCH lines, as the Wasm ranks print them (the cluster's remote log sink). */
const benchLines: string[] = [];
function hear(l: RemoteLogLine): void {
  const at = l.text.indexOf("MPIBENCH ");
  if (l.stream === "stdout" && at >= 0) benchLines.push(l.text.slice(at + "MPIBENCH ".length));
  else if (l.stream === "stderr") progress(`wasm-mpi: ${l.text}`);
}

async function runWasm(cluster: Cluster, loop: Loop): Promise<number[]> {
  benchLines.length = 0;
  await withTimeout(cluster.spmd(2, wasmFile, loop.test, loop.n, loop.warm, loop.iters), `wasm ${loop.key}`);
  const line = benchLines.at(-1);
  if (line === undefined) throw new Error("rank 0 printed no MPIBENCH line");
  return (JSON.parse(line) as { us: number[] }).us;
}

async function runTs(cluster: Cluster, m: Remote<Ranks>, loop: Loop): Promise<number[]> {
  const r: RankTimes[] = await withTimeout(cluster.spmd(2, m[loop.test], loop.n, loop.warm, loop.iters), `ts ${loop.key}`);
  return r[0]!.us;
}

function buildWasm(): string | undefined {
  mkdirSync(outDir, { recursive: true });
  const r = spawnSync("clang", clangArgs([source, "-O2", "-o", wasmFile]), { encoding: "utf8" });
  return r.status === 0 ? undefined : `strand cc failed: ${(r.stderr || r.error?.message || "").trim().slice(0, 400)}`;
}

/** The native binary's size, and with every shared library it loads. */
function nativeSizes(): { binary: number; withLibs: number; libs: number } {
  const binary = statSync(nativeFile).size;
  const ldd = execFileSync("ldd", [nativeFile], { encoding: "utf8" });
  const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
  return { binary, withLibs: binary + libs.reduce((s, f) => s + statSync(f).size, 0), libs: libs.length };
}

const stat = {
  p50: (us: number[]): number => percentile(Float64Array.from(us).sort(), 50),
  ms: (us: number[]): number => median(us) / 1000,
};

function cells(key: string, side: Side, of: (us: number[]) => number, digits: number): { med: number; text: string; range: string } | undefined {
  const runs = times.get(`${key}/${side}`);
  if (runs === undefined) return undefined;
  const all = runs.map(of);
  return { med: median(all), text: num(median(all), digits), range: spread(all, digits) };
}

async function main(): Promise<void> {
  const wasmError = buildWasm();
  if (wasmError !== undefined) failed.set("wasm", wasmError);
  const mpi = setUpMpi(source, nativeFile);
  if ("error" in mpi) failed.set("tcp", mpi.error);

  const cluster = await local({ runners: 2, threads: 1, logs: hear });
  try {
    const m = await cluster.import<Ranks>(new URL("./fixtures/mpi-ranks.ts", import.meta.url));
    // Code shipped, compiled and warm on both runners before anything is timed.
    await runTs(cluster, m, { key: "lat", test: "pingpong", n: 8, warm: 0, iters: 1 });
    if (!failed.has("wasm")) await runWasm(cluster, { key: "lat", test: "pingpong", n: 8, warm: 0, iters: 1 }).catch((e: unknown) => failed.set("wasm", describe(e)));
    for (let rep = 0; rep < REPS; rep++) {
      for (const loop of LOOPS) {
        await attempt("tcp", loop, () => runMpiBench(nativeFile, "tcp", 2, [loop.test, String(loop.n), String(loop.warm), String(loop.iters)], TIMEOUT_MS));
        await attempt("ts", loop, () => runTs(cluster, m, loop));
        await attempt("wasm", loop, () => runWasm(cluster, loop));
      }
      progress(`wasm-mpi rep ${rep + 1}/${REPS}`);
    }
  } finally {
    await cluster.close();
  }

  const rows: string[][] = [];
  for (const [key, name, of, digits] of [
    ["lat", "8 B ping-pong, round trip p50 (µs)", stat.p50, 1],
    ["ar2", `allreduce sum of 2^20 doubles (8 MiB) (ms)`, stat.ms, 2],
  ] as const) {
    const w = cells(key, "wasm", of, digits);
    const t = cells(key, "ts", of, digits);
    const o = cells(key, "tcp", of, digits);
    const r = w !== undefined && t !== undefined ? w.med / t.med : Number.NaN;
    rows.push([
      `**${name}**`, w?.text ?? "—", w?.range ?? "—", t?.text ?? "—", t?.range ?? "—",
      Number.isFinite(r) ? `${r.toFixed(2)}x` : "—", Number.isFinite(r) ? `≤ 1.20x: ${r <= 1.2 ? "met" : "**missed**"}` : "≤ 1.20x",
      o?.text ?? "—",
    ]);
  }
  console.log(`## MPI from Wasm: a C program's ranks against TypeScript ranks, in the same run\n`);
  console.log(table(["2 ranks, 2 runners × 1 thread", "C → Wasm on Strand", "range", "TypeScript on Strand", "range", "Wasm / TypeScript", "target", "same C on Open MPI, TCP (info)"], rows));
  console.log();
  if (!failed.has("wasm") && !failed.has("tcp")) {
    const wasm = statSync(wasmFile).size;
    const native = nativeSizes();
    console.log(`### Size of mpibench.c built both ways\n`);
    console.log(table(["", "bytes", "native / .wasm"], [
      ["`strand cc -O2` → mpibench.wasm (self-contained: libc included)", num(wasm), "1.00x"],
      ["`mpicc -O2` → mpibench, dynamic (`mpicc -static` cannot link: Debian ships no libmpi.a)", num(native.binary), `${(native.binary / wasm).toFixed(2)}x`],
      [`the same with the ${native.libs} shared libraries it loads (ldd)`, num(native.withLibs), `${(native.withLibs / wasm).toFixed(1)}x`],
    ]));
    console.log();
  }
  console.log(footer([
    `Median over ${REPS} reps (range: the reps' own medians); each rep runs every loop once per side, alternating Open MPI → TypeScript ranks → Wasm ranks. A loop is one job: a barrier, warm-up iterations (${LOOPS.map((l) => `${l.key} ${num(l.warm)}`).join(", ")}), then timed iterations (${LOOPS.map((l) => `${l.key} ${num(l.iters)}`).join(", ")}), timed on rank 0 (\`MPI_Wtime\` in C, \`performance.now()\` in TypeScript).`,
    `Strand: \`local({ runners: 2, threads: 1 })\`, unpinned, the same cluster for both Strand sides; the Wasm ranks' MPI calls cross from the program's thread to the rank's thread and back (docs/wasm.md).`,
    "error" in mpi ? `Open MPI: not run (${mpi.error}).` : `Open MPI: ${mpi.version}, \`mpirun --oversubscribe -np 2\` over TCP on loopback (mpirun binds its 2 ranks to a core each).`,
    ...[...failed].map(([side, why]) => `**${side} failed: ${why}**`),
  ]));
  console.log();
  if (failed.has("wasm") || failed.has("ts")) process.exitCode = 1;
}

await main();
