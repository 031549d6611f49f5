import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { ImportError } from "../errors.ts";

/** A bundle as calls name it: a small number per cluster, declared to each runner once. */
export interface ModuleRef {
  ref: number;
  hash: string;
}

export interface Bundle {
  /** Absolute path of the entry module. */
  module: string;
  /** SHA-256 of `code`, hex: the name runners cache it under. */
  hash: string;
  code: Uint8Array;
  /** Names the module exports (functions or not: the runner checks at call time). */
  exports: string[];
  buildMs: number;
}

// Bundled CommonJS dependencies call require() for built-ins; give the ESM bundle one.
const BANNER = `import { createRequire as __strandCreateRequire } from "node:module";\nconst require = __strandCreateRequire(import.meta.url);`;

export function modulePath(pathOrUrl: string | URL): string {
  if (pathOrUrl instanceof URL) return fileURLToPath(pathOrUrl);
  return pathOrUrl.startsWith("file:") ? fileURLToPath(pathOrUrl) : path.resolve(pathOrUrl);
}

/**
 * Bundles a module and its local imports into one ESM file with esbuild (TypeScript
 * accepted). Node built-ins stay imports; so do the packages named in `external`,
 * which the runner resolves from its own node_modules.
 */
export async function bundle(pathOrUrl: string | URL, external: readonly string[] = []): Promise<Bundle> {
  const module = modulePath(pathOrUrl);
  const t0 = performance.now();
  // The source map names files relative to this directory; its root makes them absolute, so
  // a runner's stacks name the files on this machine (not next to its cached bundle).
  const cwd = process.cwd();
  let result;
  try {
    result = await build({
      entryPoints: [module],
      absWorkingDir: cwd,
      sourceRoot: pathToFileURL(cwd.endsWith(path.sep) ? cwd : cwd + path.sep).href,
      bundle: true,
      format: "esm",
      // Function and class names survive renaming: error names (`err.name`), stacks.
      keepNames: true,
      platform: "node",
      target: "node20",
      external: [...external],
      // A module may import a .wasm file: its bytes travel inside the bundle (a Uint8Array
      // default export), so it is cached and shipped by content hash with the code that uses it.
      loader: { ".wasm": "binary" },
      write: false,
      metafile: true,
      sourcemap: "inline",
      sourcesContent: false,
      banner: { js: BANNER },
      logLevel: "silent",
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const detail = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join("; ");
    throw new ImportError(`cannot bundle ${module}: ${detail || (err as Error).message}`, { cause: err });
  }
  const out = result.outputFiles[0];
  if (out === undefined) throw new ImportError(`esbuild produced no output for ${module}`);
  const meta = Object.values(result.metafile.outputs)[0];
  const code = out.contents;
  return {
    module,
    hash: createHash("sha256").update(code).digest("hex"),
    code,
    exports: meta?.exports ?? [],
    buildMs: performance.now() - t0,
  };
}
