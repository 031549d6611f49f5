import { createHash, randomBytes } from "node:crypto";
import { chmodSync, createReadStream, existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileObjectId } from "../../protocol/exec-wire.ts";
import { ObjectLostError } from "../../errors.ts";

// A runner's files by content: what commands read and made, named by SHA-256 only (never by
// a path a peer chose), read-only, hard-linked into each action's sandbox. Shared by the
// runner's threads and by runners on one host that share a cache directory: every write is
// a whole file renamed into place, so a reader sees a file whole or not at all.

const HASH = /^[0-9a-f]{64}$/;

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** SHA-256 of a file, streamed. */
export function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file).on("data", (c) => h.update(c)).on("error", reject).on("end", () => resolve(h.digest("hex")));
  });
}

const tmpName = (dir: string): string => path.join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);

export class FileCache {
  readonly files: string;
  readonly tmp: string;

  /** `dir`: the runner's exec directory (files/, actions/, sandboxes/ below it). */
  constructor(readonly dir: string) {
    this.files = path.join(dir, "files");
    this.tmp = path.join(dir, "tmp");
    mkdirSync(this.files, { recursive: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  pathOf(hash: string, executable: boolean): string {
    if (!HASH.test(hash)) throw new TypeError(`bad file hash ${JSON.stringify(hash.slice(0, 80))}`);
    return path.join(this.files, hash.slice(0, 2), `${hash}${executable ? ".x" : ""}`);
  }

  has(hash: string, executable: boolean): boolean {
    return existsSync(this.pathOf(hash, executable));
  }

  /** Keeps `bytes` as the file `hash` names; refuses bytes that do not hash to it. */
  async write(hash: string, executable: boolean, bytes: Uint8Array): Promise<void> {
    const actual = sha256(bytes);
    if (actual !== hash) throw new ObjectLostError(fileObjectId(hash, executable), `the bytes received hash to ${actual.slice(0, 12)}`);
    const dest = this.pathOf(hash, executable);
    if (existsSync(dest)) return;
    const tmp = tmpName(this.tmp);
    await writeFile(tmp, bytes, { mode: executable ? 0o555 : 0o444 });
    await this.place(tmp, dest);
  }

  /** write(), synchronously: on the worker thread, for a file that came with its action (as adopt). */
  writeSync(hash: string, executable: boolean, bytes: Uint8Array): void {
    const actual = sha256(bytes);
    if (actual !== hash) throw new ObjectLostError(fileObjectId(hash, executable), `the bytes received hash to ${actual.slice(0, 12)}`);
    const dest = this.pathOf(hash, executable);
    if (existsSync(dest)) return;
    const tmp = tmpName(this.tmp);
    writeFileSync(tmp, bytes, { mode: executable ? 0o555 : 0o444 });
    this.dirOf(dest);
    renameSync(tmp, dest);
  }

  /**
   * Takes a file a command made (in a sandbox on the same file system) into the cache: hashed,
   * made read-only and renamed, not copied. Its hash and size. Synchronous, as the sandbox is
   * (sandbox.ts): on the worker thread, whose action waits for it anyway.
   */
  adopt(file: string, executable: boolean): { hash: string; size: number } {
    const bytes = readFileSync(file);
    const hash = sha256(bytes);
    const dest = this.pathOf(hash, executable);
    if (existsSync(dest)) {
      unlinkSync(file);
    } else {
      chmodSync(file, executable ? 0o555 : 0o444);
      this.dirOf(dest);
      renameSync(file, dest);
    }
    return { hash, size: bytes.byteLength };
  }

  /** A copy of a cached file in the cache's own directory of temporaries, for a peer or driver. */
  read(hash: string, executable: boolean): Promise<Buffer> {
    return readFile(this.pathOf(hash, executable)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new ObjectLostError(fileObjectId(hash, executable), "not in this runner's file cache");
      throw err;
    });
  }

  /** Hard-links the cached file to `dest` (a copy across file systems); synchronous, as adopt. */
  linkTo(hash: string, executable: boolean, dest: string): void {
    const src = this.pathOf(hash, executable);
    try {
      linkSync(src, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw err;
      writeFileSync(dest, readFileSync(src), { mode: executable ? 0o555 : 0o444 });
    }
  }

  /** Makes the folder of a cached file (one per two hex digits), once per cache. */
  private readonly dirs = new Set<string>();
  private dirOf(dest: string): void {
    const d = path.dirname(dest);
    if (this.dirs.has(d)) return;
    mkdirSync(d, { recursive: true });
    this.dirs.add(d);
  }

  private async place(tmp: string, dest: string): Promise<void> {
    this.dirOf(dest);
    await rename(tmp, dest);
  }
}
