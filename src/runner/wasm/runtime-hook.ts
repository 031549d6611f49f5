import { threadId } from "node:worker_threads";
import { ThreadCompiles } from "./compile-cache.ts";
import { runWasmRank, type WasmRankSpec } from "./wasm-rank.ts";

// How code in a user's bundle reaches this runner's WebAssembly services. A bundle carries
// its own copy of whatever strand files it imports, and the driver and runner never import
// each other, so (as comm() does) the services sit under a registered global symbol that
// the runner's worker threads set and bundles read.

/** The global symbol: `globalThis[Symbol.for("strand.wasm")]`. */
export const WASM_HOOK = "strand.wasm";

/** What a worker thread offers bundles under WASM_HOOK. */
export interface WasmRuntime {
  /** Runs a C program's rank (inside an SPMD rank's call); resolves with exit status 0. */
  runRank(spec: WasmRankSpec): Promise<number>;
  /**
   * The Module for these bytes, compiled once per runner by content hash (`hash`: SHA-256
   * of `bytes`, hex; checked on the compile) and kept by this thread: for Wasm kernels
   * inside TypeScript modules, which instantiate it themselves.
   */
  compile(hash: string, bytes: Uint8Array): Promise<WebAssembly.Module>;
}

/** On a worker thread: `threadsChannel` is the runner's channel of threads (absent: compile on this thread). */
export function provideWasmRuntime(threadsChannel: string | undefined): void {
  const compiles = new ThreadCompiles(threadsChannel, threadId);
  const runtime: WasmRuntime = {
    runRank: (spec) => runWasmRank(spec, compiles),
    compile: (hash, bytes) => compiles.module(hash, bytes),
  };
  (globalThis as { [k: symbol]: unknown })[Symbol.for(WASM_HOOK)] = runtime;
}
