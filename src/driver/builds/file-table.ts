import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { ObjectLostError } from "../../errors.ts";
import { fileObjectId } from "../../protocol/exec-wire.ts";
import type { FileRef } from "./file-ref.ts";

// Where each file of a cluster's commands is: on which runners (their file caches), and
// whether the driver itself has it (a file it put: its path, read again when a runner needs
// it; or bytes it was given). Nothing moves until an action placed on a runner needs it:
// then the driver sends what only it has, and the runner fetches the rest from a runner that
// holds it.

interface Where {
  ref: FileRef;
  /** The driver's file (putFile), read when a runner needs it. */
  path?: string;
  /** Bytes the driver holds (a graph's `bytes` input, a Ref's value). */
  bytes?: Uint8Array;
  /** Runners (addresses) whose file caches hold it. */
  holders: Set<string>;
}

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * Small files read for a runner are kept, up to this much in all (oldest dropped first): each
 * of a build's sources goes inline to every runner that runs an action reading it, and each
 * read was an open, stat, read and close through libuv's pool plus a SHA-256 again.
 */
const KEPT_MAX_FILE = 64 * 1024;
const KEPT_TOTAL = 32 * 1024 * 1024;

export class FileTable {
  private readonly files = new Map<string, Where>();
  private readonly kept = new Map<string, Uint8Array>();
  private keptBytes = 0;

  private entry(ref: FileRef): Where {
    const id = fileObjectId(ref.hash, ref.executable);
    let w = this.files.get(id);
    if (w === undefined) this.files.set(id, (w = { ref: { hash: ref.hash, size: ref.size, executable: ref.executable }, holders: new Set() }));
    return w;
  }

  /** A file of the driver's, hashed. */
  local(ref: FileRef, path: string): void {
    this.entry(ref).path ??= path;
  }

  /** Bytes the driver holds: their FileRef. */
  bytes(bytes: Uint8Array, executable = false): FileRef {
    const ref = { hash: sha256(bytes), size: bytes.byteLength, executable };
    this.entry(ref).bytes ??= bytes;
    return ref;
  }

  /** `runner` holds it now (it made it, or fetched it for an action). */
  held(ref: FileRef, runner: string): void {
    this.entry(ref).holders.add(runner);
  }

  /** `runner` no longer holds it (a fetch from it failed). */
  notHeld(ref: FileRef, runner: string): void {
    this.files.get(fileObjectId(ref.hash, ref.executable))?.holders.delete(runner);
  }

  /** The runners holding it, among those `live` says are connected. */
  holders(ref: FileRef, live: (address: string) => boolean): string[] {
    const w = this.files.get(fileObjectId(ref.hash, ref.executable));
    return w === undefined ? [] : [...w.holders].filter(live);
  }

  /** Whether the driver can send it itself. */
  hasLocal(ref: FileRef): boolean {
    const w = this.files.get(fileObjectId(ref.hash, ref.executable));
    return w !== undefined && (w.bytes !== undefined || w.path !== undefined);
  }

  /** Whether this table knows the file at all (a FileRef of another cluster, or made up, is not). */
  knows(ref: FileRef): boolean {
    return this.files.has(fileObjectId(ref.hash, ref.executable));
  }

  /** The driver's own copy, checked against the hash (a file changed since it was put is refused). */
  async localBytes(ref: FileRef): Promise<Uint8Array | undefined> {
    const w = this.files.get(fileObjectId(ref.hash, ref.executable));
    if (w?.bytes !== undefined) return w.bytes;
    if (w?.path === undefined) return undefined;
    const id = fileObjectId(ref.hash, ref.executable);
    const kept = this.kept.get(id);
    if (kept !== undefined) return kept;
    // A small file is read at once, not through fs/promises: that is an open, fstat, read and
    // close, each a trip through libuv's pool and a turn of the event loop (its callbacks
    // were ~30% of the driver's samples in a net/http build's profile); read in place, a
    // source of a few KiB costs a few µs of the loop.
    const bytes = w.ref.size <= KEPT_MAX_FILE ? readFileSync(w.path) : await readFile(w.path);
    if (sha256(bytes) !== ref.hash) throw new ObjectLostError(id, `${w.path} changed since it was put`);
    if (bytes.byteLength <= KEPT_MAX_FILE && !this.kept.has(id)) {
      this.kept.set(id, bytes);
      this.keptBytes += bytes.byteLength;
      for (const [k, b] of this.kept) {
        if (this.keptBytes <= KEPT_TOTAL) break;
        this.kept.delete(k);
        this.keptBytes -= b.byteLength;
      }
    }
    return bytes;
  }
}
