import { createHash, randomBytes } from "node:crypto";
import { chmodSync, closeSync, createReadStream, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileObjectId } from "../../protocol/exec-wire.ts";
import { ObjectLostError } from "../../errors.ts";
import { readWhole } from "./whole-file.ts";

// A runner's files by content: what commands read and made, named by SHA-256 only (never by
// a path a peer chose), read-only, hard-linked into each action's sandbox. Shared by the
// runner's threads and by runners on one host that share a cache directory: every write is
// a whole file hard-linked into place, so a reader sees a file whole or not at all.
//
// Linked, never renamed: an entry, once there, is never replaced, so its inode keeps a link
// for as long as the cache lives. Renaming a new copy over an existing entry (two runners
// writing the same inline input at once, each having found it missing) drops the old inode's
// last link while another thread may be hard-linking that very entry into a sandbox, and
// link(2) then fails with ENOENT (the kernel refuses to link an inode with no links left):
// the ENOENT of issue 18's std build. Measured here: a process renaming copies over a path
// while another links it, 1,394 ENOENT in 200,000 links; two threads writing and linking the
// same new files at once (test/file-cache-race.test.ts), 5-40 ENOENT in 32,000 links with
// rename into place, none with link. Costs one unlink of the temporary per file written.

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

  // One flat folder, not a folder per two hex digits: a fresh cache made its 256 shard folders
  // during its first build, and on this machine's ext4 (no journal) each new folder is an
  // inode placed by the Orlov allocator in a group of its own: the shards' mkdirs were 6% of a
  // runner worker thread's CPU in a first net/http build (perf, session 28). ext4 indexes big
  // folders (dir_index), so a name is found as fast among 100,000 files. Files of the earlier
  // layout (`ab/<hash>`) are not looked for: their actions run again.
  pathOf(hash: string, executable: boolean): string {
    if (!HASH.test(hash)) throw new TypeError(`bad file hash ${JSON.stringify(hash.slice(0, 80))}`);
    return `${this.files}/${hash}${executable ? ".x" : ""}`;
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
    try {
      await link(tmp, dest).catch(keptIfThere);
    } finally {
      await unlink(tmp);
    }
  }

  /** write(), synchronously: on the worker thread, for a file that came with its action (as adopt). */
  writeSync(hash: string, executable: boolean, bytes: Uint8Array): void {
    const actual = sha256(bytes);
    if (actual !== hash) throw new ObjectLostError(fileObjectId(hash, executable), `the bytes received hash to ${actual.slice(0, 12)}`);
    const dest = this.pathOf(hash, executable);
    if (existsSync(dest)) return;
    const tmp = tmpName(this.tmp);
    writeFileSync(tmp, bytes, { mode: executable ? 0o555 : 0o444 });
    try {
      linkInto(tmp, dest);
    } finally {
      unlinkSync(tmp);
    }
  }

  /**
   * An inline input (`bytes`, checked against `hash`) at `dest` in a sandbox, and in the cache:
   * linked from the cache if it is there (another runner sharing the cache may have written
   * it), else written at `dest` and that file linked into the cache. One new file where
   * writeSync() made a temporary, linked it in, unlinked it and linked the entry into the
   * sandbox (an inode allocation, and on this ext4 a walk past recently freed inodes, for the
   * temporary's name alone). A concurrent writer of the same bytes may link first: its entry
   * stays, and `dest` is a copy of the same bytes.
   */
  writeInto(hash: string, executable: boolean, bytes: Uint8Array, dest: string): void {
    const actual = sha256(bytes);
    if (actual !== hash) throw new ObjectLostError(fileObjectId(hash, executable), `the bytes received hash to ${actual.slice(0, 12)}`);
    const entry = this.pathOf(hash, executable);
    try {
      linkSync(entry, dest);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EXDEV" || code === "EPERM" || code === "EMLINK") {
        // No hard link possible here: a copy in the sandbox, the cache's own entry as write() makes it.
        this.writeSync(hash, executable, bytes);
        writeFileSync(dest, bytes, { mode: executable ? 0o555 : 0o444, flag: "wx" });
        return;
      }
      if (code !== "ENOENT" || !existsSync(path.dirname(dest))) throw err;
    }
    writeFileSync(dest, bytes, { mode: executable ? 0o555 : 0o444, flag: "wx" });
    linkInto(dest, entry);
  }

  /**
   * Takes a file a command made (in a sandbox on the same file system) into the cache: hashed,
   * made read-only and linked in, not copied; its sandbox name goes. Its hash and size.
   * Synchronous, as the sandbox is (sandbox.ts): on the worker thread, whose action waits for
   * it anyway.
   */
  adopt(file: string, executable: boolean, read?: Buffer): { hash: string; size: number } {
    let bytes = read;
    if (bytes === undefined) {
      const whole = readWhole(file);
      closeSync(whole.fd);
      bytes = whole.bytes;
    }
    const hash = sha256(bytes);
    // Linked in unless an entry is there (EEXIST): no stat first. The chmod is of the
    // sandbox's file, harmless if it then goes.
    chmodSync(file, executable ? 0o555 : 0o444);
    linkInto(file, this.pathOf(hash, executable));
    unlinkSync(file);
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

  /**
   * Why linkTo(hash, executable, dest) failed with `err`, naming the piece that was missing:
   * the cached file, or a folder on the way to `dest` (shown relative to `root`, the sandbox).
   */
  explainLinkFailure(hash: string, executable: boolean, dest: string, root: string, err: unknown): string {
    const e = err as NodeJS.ErrnoException;
    const src = this.pathOf(hash, executable);
    if (e.code !== "ENOENT") return `linking ${src} failed: ${e.message}`;
    if (!existsSync(src)) return `the input's file ${hash.slice(0, 12)}… is missing from the runner's file cache (${src})`;
    const rel = (p: string): string => path.relative(root, p) || ".";
    let missing: string | undefined;
    for (let d = path.dirname(dest); d.length >= root.length; d = path.dirname(d)) {
      if (existsSync(d)) break;
      missing = d;
      if (d === root) break;
    }
    if (missing !== undefined) return `its folder ${rel(missing)} is missing from the sandbox ${root}`;
    return `link failed with ENOENT though the cache file and the folder are both there (the cache file replaced while it was linked?)`;
  }
}

/** Another writer put the same bytes there first: theirs stays (an entry is never replaced). */
function keptIfThere(err: NodeJS.ErrnoException): void {
  if (err.code !== "EEXIST") throw err;
}

/** Hard-links a whole file to its name in the cache, unless an entry is there already. */
function linkInto(file: string, dest: string): void {
  try {
    linkSync(file, dest);
  } catch (err) {
    keptIfThere(err as NodeJS.ErrnoException);
  }
}
