import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
let entry: Promise<string> | undefined;

/**
 * The runner entry to start when this library runs from its TypeScript source (tests,
 * examples, benchmarks): an esbuild bundle of the CLI, of the worker thread and of a Wasm rank's thread, rather
 * than the sources through tsx's loader. Measured: user code in a runner started
 * through tsx ran ~35% slower (a matmul kernel, 950 vs 1,300 ms), which would make every
 * benchmark and example unrepresentative of an installed package. Built once per
 * process, stored by content hash, so concurrent processes share it.
 */
export function devRunnerEntry(): Promise<string> {
  entry ??= bundleRunner();
  return entry;
}

async function bundleRunner(): Promise<string> {
  const outdir = path.join(repoRoot, "node_modules", ".cache", "strand", "runner-dev");
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: { main: "src/cli/main.ts", worker: "src/runner/worker.ts", "wasm-thread": "src/runner/wasm/wasm-thread.ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    keepNames: true, // error classes are named by `new.target.name`
    target: "node20",
    packages: "external",
    outdir,
    write: false,
    sourcemap: "inline",
    logLevel: "silent",
  });
  const hash = createHash("sha256");
  for (const f of result.outputFiles) hash.update(f.path).update(f.contents);
  const dir = path.join(outdir, hash.digest("hex").slice(0, 16));
  const main = path.join(dir, "main.js");
  if (existsSync(main)) return main;
  // Write into a private folder, then rename it into place: readers never see half a bundle.
  const tmp = `${dir}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  mkdirSync(tmp, { recursive: true });
  for (const f of result.outputFiles) writeFileSync(path.join(tmp, path.basename(f.path)), f.contents);
  try {
    renameSync(tmp, dir);
  } catch {
    // Another process got there first with the same content.
  }
  return main;
}
