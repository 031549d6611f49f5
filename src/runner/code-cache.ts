import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { ImportError } from "../errors.ts";

const HASH = /^[0-9a-f]{64}$/;

/** The largest bundle a runner takes by default (`--max-code`): bundles are a few MiB at most. */
export const DEFAULT_MAX_CODE = 64 * 1024 * 1024;

/** Where a bundle lives in a cache directory: named by its hash only, never by a peer-chosen path. */
export function bundlePath(dir: string, hash: string): string {
  if (!HASH.test(hash)) throw new ImportError(`bad module hash "${hash.slice(0, 80)}"`);
  return path.join(dir, `${hash}.mjs`);
}

/**
 * Bundles on disk, named only by their SHA-256 (never by a peer-chosen path). The
 * default directory sits under the runner's node_modules so that packages a bundle
 * leaves external resolve from the runner's own node_modules.
 */
export class CodeCache {
  private readonly known = new Set<string>();
  private readonly pending = new Map<string, Promise<string>>();
  fetches = 0;
  bytesReceived = 0;

  constructor(
    readonly dir: string = path.resolve("node_modules", ".cache", "strand"),
    /** Bundles bigger than this are refused: they would fill the disk and every thread's memory. */
    readonly maxBytes = DEFAULT_MAX_CODE,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  pathOf(hash: string): string {
    return bundlePath(this.dir, hash);
  }

  has(hash: string): boolean {
    if (this.known.has(hash)) return true;
    if (existsSync(this.pathOf(hash))) {
      this.known.add(hash);
      return true;
    }
    return false;
  }

  get size(): number {
    return this.known.size;
  }

  /**
   * The path of the bundle, fetching it with `fetch` if missing. Concurrent callers
   * for one hash share one fetch, even across drivers; if a shared fetch fails (say its
   * driver disconnected), the other callers try again through their own `fetch`.
   */
  async resolve(hash: string, fetch: (hash: string) => Promise<Uint8Array>): Promise<string> {
    let failed: Promise<string> | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.has(hash)) return this.pathOf(hash);
      let p = this.pending.get(hash);
      const mine = p === undefined || p === failed;
      if (mine) p = this.fetchShared(hash, fetch);
      try {
        return await p!;
      } catch (err) {
        // Our own fetch failed, or we keep meeting failing ones: give up.
        if (mine || attempt >= 3) throw err;
        failed = p; // someone else's fetch failed (its driver left?): go around
      }
    }
  }

  private fetchShared(hash: string, fetch: (hash: string) => Promise<Uint8Array>): Promise<string> {
    const p = this.fetchAndStore(hash, fetch).finally(() => {
      if (this.pending.get(hash) === p) this.pending.delete(hash);
    });
    this.pending.set(hash, p);
    return p;
  }

  private async fetchAndStore(hash: string, fetch: (hash: string) => Promise<Uint8Array>): Promise<string> {
    const file = this.pathOf(hash);
    this.fetches++;
    const code = await fetch(hash);
    this.bytesReceived += code.byteLength;
    if (code.byteLength > this.maxBytes) {
      throw new ImportError(`code ${hash.slice(0, 12)} is ${code.byteLength} bytes, over this runner's ${this.maxBytes}-byte limit (--max-code)`);
    }
    const actual = createHash("sha256").update(code).digest("hex");
    if (actual !== hash) throw new ImportError(`code for ${hash.slice(0, 12)} arrived with hash ${actual.slice(0, 12)}`);
    // Write then rename: a crash never leaves a half-written bundle under its hash.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, file);
    this.known.add(hash);
    return file;
  }
}
