// Rebuilds the examples' Wasm kernels from their C sources (`npm run build:kernels`): the
// .wasm files are committed so that `npm start` runs without clang; this is how they were
// made. Regenerates wordcount's Unicode table from this Node first (gen-unicode.ts).
//
//   npx tsx examples/build-kernels.ts [outDir]   (default: next to the sources)
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unicodeTable } from "./wordcount/gen-unicode.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The kernels: C source (relative to examples/) and the .wasm name. */
export const KERNELS = [
  { source: "matmul/matmul.c", wasm: "matmul/matmul.wasm" },
  { source: "wordcount/wordcount.c", wasm: "wordcount/wordcount.wasm" },
  { source: "pi/pi.c", wasm: "pi/pi.wasm" },
  { source: "heat/stencil.c", wasm: "heat/stencil.wasm" },
] as const;

/** clang's flags: no libc, no entry point; SIMD and bulk memory (memset/memcpy as memory.fill/copy). */
export const CLANG_FLAGS = ["--target=wasm32", "-O3", "-msimd128", "-mbulk-memory", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all"];

/**
 * Compiles every kernel into `outDir` (default: next to its source) and returns the .wasm
 * paths. The generated Unicode table goes next to wordcount.c, or into outDir when given.
 */
export function buildKernels(outDir?: string, clang = process.env["CLANG"] ?? "clang"): string[] {
  const tableDir = outDir ?? path.join(here, "wordcount");
  writeFileSync(path.join(tableDir, "wordcount_unicode.h"), unicodeTable());
  return KERNELS.map((k) => {
    const out = outDir === undefined ? path.join(here, k.wasm) : path.join(outDir, path.basename(k.wasm));
    execFileSync(clang, [...CLANG_FLAGS, `-I${tableDir}`, path.join(here, k.source), "-o", out], { stdio: "inherit" });
    return out;
  });
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of buildKernels(process.argv[2])) console.log(`built ${path.relative(process.cwd(), f)}`);
}
