import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { blockPoolPath, blockPoolStats, loadBlockPool, POOLED_FRAME_MIN, pooledFrame, pooledSharedFrame } from "../src/transport/native-pool.ts";
import { removeDir, tempDir } from "./helpers.ts";

// The native block pool (native/block-pool.cc): a block is lent again only once every holder
// let go, a view kept by the user, a transfer to or a share with another thread included.
// Blocks come back when V8 frees their ArrayBuffer, so these tests collect garbage on purpose
// and check that kept memory never changes while more blocks are taken and written.

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const compiler = spawnSync(process.env.CXX || "c++", ["--version"]).status === 0;
const nodeHeaders = existsSync(path.join(path.dirname(process.execPath), "..", "include", "node", "node_api.h"));

/** Collects garbage until `done` (the pool saw blocks come back), a bounded number of turns. */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

const fill = (u: Uint8Array, v: number): Uint8Array => u.fill(v);
const all = (u: Uint8Array, v: number): boolean => u.every((x) => x === v);

describe.skipIf(!compiler || !nodeHeaders)("native block pool", () => {
  it("is built on first use and loaded", async () => {
    expect(await loadBlockPool()).toBe(true);
    expect(blockPoolPath()).toMatch(/^native pool/);
    expect(pooledFrame(POOLED_FRAME_MIN).buffer).toBeInstanceOf(ArrayBuffer);
    expect(pooledSharedFrame(POOLED_FRAME_MIN).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(pooledFrame(100).byteLength).toBe(100); // small frames: plain memory
  });

  it("never lends a block while a view of it is held, and lends it again once let go", async () => {
    await loadBlockPool();
    const size = 2 * POOLED_FRAME_MIN;
    // Only a view of a slice is kept: the ArrayBuffer itself is reachable only through it.
    const kept = new Float64Array(fill(pooledFrame(size), 7).buffer, 8, 1000);
    const keptBytes = () => new Uint8Array(kept.buffer, kept.byteOffset, kept.byteLength);
    for (let round = 0; round < 20; round++) {
      const before = blockPoolStats()!.returned;
      for (let i = 0; i < 4; i++) fill(pooledFrame(size), 100 + round);
      await collectUntil(() => blockPoolStats()!.returned >= before + 4);
      expect(all(keptBytes(), 7)).toBe(true);
    }
    expect(blockPoolStats()!.reused).toBeGreaterThan(0);
  });

  it("a block transferred to a worker stays the worker's; a shared one stays while the worker holds it", async () => {
    await loadBlockPool();
    const size = 2 * POOLED_FRAME_MIN;
    const moved = fill(pooledFrame(size), 5);
    const shared = fill(pooledSharedFrame(size), 6);
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
       let held;
       parentPort.on("message", (m) => {
         if (m.keep) { held = m.keep; parentPort.postMessage("kept"); return; }
         const ok = new Uint8Array(held.moved).every((x) => x === 5) && new Uint8Array(held.shared).every((x) => x === 6);
         parentPort.postMessage(ok);
       });`,
      { eval: true },
    );
    const reply = (): Promise<unknown> => new Promise((r) => worker.once("message", r));
    worker.postMessage({ keep: { moved: moved.buffer, shared: shared.buffer } }, [moved.buffer as ArrayBuffer]);
    expect(moved.byteLength).toBe(0); // moved, not copied: the backing store went with it
    expect(await reply()).toBe("kept");
    for (let round = 0; round < 10; round++) {
      const before = blockPoolStats()!.returned;
      for (let i = 0; i < 4; i++) {
        fill(pooledFrame(size), 200 + round);
        fill(pooledSharedFrame(size), 220 + round);
      }
      await collectUntil(() => blockPoolStats()!.returned >= before + 8);
    }
    worker.postMessage({ check: true });
    expect(await reply()).toBe(true);
    await worker.terminate();
  });
});

describe("without a compiler", () => {
  it("big values go through unzeroed memory and arrive intact (CXX missing, empty cache)", async () => {
    const cache = await tempDir("strand-pool-cache-");
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ["--import", "tsx", "test/fixtures/pool-fallback.ts"], {
          env: { ...process.env, CXX: path.join(cache, "no-such-compiler"), XDG_CACHE_HOME: cache },
          encoding: "utf8",
        }, (err, stdout) => (err === null ? resolve(stdout) : reject(err)));
      });
      const r = JSON.parse(out.trim().split("\n").at(-1)!) as { built: boolean; path: string; ok: boolean };
      expect(r.built).toBe(false);
      expect(r.path).toMatch(/^unzeroed JS buffers \(native pool unavailable/);
      expect(r.ok).toBe(true);
    } finally {
      await removeDir(cache);
    }
  }, 120_000); // a driver process and its runner, started from source on a loaded machine
});
