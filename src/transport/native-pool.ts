import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { markUsed, pruneBuilds } from "./native-cache.ts";
import { untouchedShared, unzeroed } from "./unzeroed.ts";

// Pooled memory for big received frames (native/block-pool.cc): the ArrayBuffer or
// SharedArrayBuffer a big value arrives in is a block the pool lends, and the backing store's
// own deleter gives it back once the last holder anywhere lets go (a view the user kept, a
// transfer or a share with another thread). That is the only safe release for memory a user
// sees: JavaScript cannot know when a value handed out is dropped, and a FinalizationRegistry
// runs after the memory is already freed.
//
// Why: a value received into fresh memory costs a page fault per 4 KiB and a clear of every
// page, on each value (driver of a 100 MB echo: ~25% of its CPU, docs/decisions.md "Where a
// 100 MB echo goes"); filling a reused 100 MB block took 11-27 ms against 160-500 ms fresh
// (loaded machine). It is optional: built on first use with the machine's C++ compiler and
// the running Node's headers (V8's API: N-API has no SharedArrayBuffer, and its external
// ArrayBuffers are copied, not moved, by a transfer), cached under
// $XDG_CACHE_HOME/strand/native per Node ABI; where either is missing (or STRAND_NATIVE=0)
// frames are read into unzeroed memory as before.
// docs/decisions.md, "Pooled result memory": why built on first use, not prebuilt or at install.

interface BlockPoolAddon {
  take(bytes: number): ArrayBuffer;
  takeShared(bytes: number): SharedArrayBuffer;
  trim(): number;
  setCap(bytes: number): void;
  stats(): BlockPoolStats;
}

export interface BlockPoolStats {
  freeBlocks: number;
  freeBytes: number;
  liveBlocks: number;
  /** Blocks lent again after a holder gave them back. */
  reused: number;
  /** Blocks allocated. */
  fresh: number;
  returned: number;
  /** Blocks given back beyond the pool's cap (freed). */
  dropped: number;
}

/** Frames at least this big come from the pool: smaller ones cost little to fault in. */
export const POOLED_FRAME_MIN = 1 << 20;

/**
 * The addon's source: native/ of the package this file belongs to, found by walking up from
 * here (src/transport, dist/transport, or a bundle of the runner's threads under
 * node_modules/.cache, which is why not one fixed relative path).
 */
function findSource(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "native", "block-pool.cc");
    if (existsSync(file)) return file;
    if (path.dirname(dir) === dir) throw new Error(`no native/block-pool.cc above ${fileURLToPath(import.meta.url)}`);
  }
}

let addon: BlockPoolAddon | undefined;
let state: "off" | "unloaded" | "building" | "native" | "unavailable" = process.env.STRAND_NATIVE === "0" ? "off" : "unloaded";
let reason = "";
let building: Promise<boolean> | undefined;

/** Which path big frames take, for benchmarks and logs: "native pool", or why not. */
export function blockPoolPath(): string {
  if (state === "native") return "native pool (native/block-pool.cc)";
  if (state === "off") return "unzeroed JS buffers (STRAND_NATIVE=0)";
  if (state === "unavailable") return `unzeroed JS buffers (native pool unavailable: ${reason})`;
  return `unzeroed JS buffers (native pool ${state})`;
}

export function blockPoolStats(): BlockPoolStats | undefined {
  return addon?.stats();
}

/** Frees the blocks the pool keeps free (blocks in use return as their holders let go). */
export function trimBlockPool(): void {
  addon?.trim();
}

/** Bytes the pool keeps free at most, by default: two 100 MB values' worth and some. */
export const BLOCK_POOL_CAP = 256 << 20;
// The pool is the process's (one library, whichever threads load it): only a cap set here
// (or in the environment) is applied, so that a thread loading it later keeps the one set.
let cap = process.env.STRAND_BLOCK_POOL_MAX === undefined ? undefined : Number(process.env.STRAND_BLOCK_POOL_MAX);

/**
 * Keeps at most `bytes` free (a runner: a share of its object store's budget, since free
 * blocks are resident memory the store does not count).
 */
export function setBlockPoolCap(bytes: number): void {
  cap = Math.max(0, Math.floor(bytes));
  addon?.setCap(cap);
}

/**
 * Memory for a big frame: a pooled block once the addon is loaded, else unzeroed memory (and
 * the first call starts loading the addon, in the background).
 */
export function pooledFrame(bytes: number): Uint8Array {
  if (addon !== undefined && bytes >= POOLED_FRAME_MIN) {
    armIdle();
    return new Uint8Array(addon.take(bytes));
  }
  if (state === "unloaded") void loadBlockPool();
  return unzeroed(bytes);
}

/** The same in shared memory (a runner's objects, which its threads read in place). */
export function pooledSharedFrame(bytes: number): Uint8Array {
  if (addon !== undefined && bytes >= POOLED_FRAME_MIN) {
    armIdle();
    return new Uint8Array(addon.takeShared(bytes));
  }
  if (state === "unloaded") void loadBlockPool();
  return untouchedShared(bytes);
}

/** Free blocks go back to the OS after this long without a take (as snapshot pools do). */
const IDLE_MS = 5_000;
let idle: NodeJS.Timeout | undefined;

function armIdle(): void {
  if (idle !== undefined) {
    idle.refresh();
    return;
  }
  idle = setTimeout(() => {
    idle = undefined;
    addon?.trim();
  }, IDLE_MS);
  idle.unref();
}

/** Loads (building on first use) the addon; false when it cannot, and big frames stay unpooled. */
export function loadBlockPool(): Promise<boolean> {
  if (state === "native") return Promise.resolve(true);
  if (state === "off" || state === "unavailable") return Promise.resolve(false);
  return (building ??= build().then(
    (file) => {
      addon = createRequire(import.meta.url)(file) as BlockPoolAddon;
      state = "native";
      if (cap !== undefined) addon.setCap(cap);
      return true;
    },
    (err: unknown) => {
      state = "unavailable";
      reason = err instanceof Error ? err.message.split("\n")[0]! : String(err);
      return false;
    },
  ));
}

async function build(): Promise<string> {
  state = "building";
  const source = findSource();
  const code = readFileSync(source);
  const include = process.env.STRAND_NODE_INCLUDE ?? path.join(path.dirname(process.execPath), "..", "include", "node");
  if (!existsSync(path.join(include, "node_api.h"))) throw new Error(`no node_api.h in ${include}`);
  // V8's API is not stable across Node versions: one build per ABI (and Node refuses to load
  // another's, which falls back like a missing compiler).
  const key = createHash("sha256").update(code).update(`${process.platform}-${process.arch}-${process.version}-${include}`).digest("hex").slice(0, 16);
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "strand", "native");
  const file = path.join(dir, `block-pool-${key}.node`);
  if (existsSync(file)) {
    markUsed(file);
    return file;
  }
  mkdirSync(dir, { recursive: true });
  // Several processes may build at once: each writes its own file, then renames it (atomic).
  const tmp = `${file}.${process.pid}.tmp`;
  const cc = process.env.CXX || "c++";
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(cc, ["-O2", "-std=c++17", "-shared", "-fPIC", "-I", include, "-o", tmp, source], { timeout: 60_000 }, (err, _out, stderr) => {
        if (err === null) resolve();
        else reject(new Error(`${cc} failed: ${(stderr || err.message).trim()}`));
      });
    });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  pruneBuilds(dir, "block-pool-", file);
  return file;
}
