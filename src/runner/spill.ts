import { promises as fsp, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { alive } from "./process-alive.ts";

/** Where runners spill by default: a directory of the OS's temporary one, each runner in a subdirectory of its own. */
export const defaultSpillRoot = (): string => path.join(os.tmpdir(), "strand-spill");

/**
 * Bytes a spill writes at once, at most a quarter of the budget (a small budget spills in
 * smaller batches rather than emptying itself at each spill). Ray's users see 1-2 MB spill
 * files and the throughput of many small writes; measured here (bench/spill.ts, a loaded VM),
 * one writev of 64 MiB ran at the speed of a raw `fs` write of the same bytes.
 */
export const SPILL_BATCH = 64 * 1024 * 1024;

/** A batch file: deleted when the last object in it is freed or restored for good. */
export interface SpillFile {
  readonly path: string;
  /** Objects still read from this file. */
  live: number;
  /** Its bytes (freed objects' included, until the file goes). */
  size: number;
}

/** Where an object's bytes are on disk: its segments one after another from `offset`. */
export interface SpillPlace {
  readonly file: SpillFile;
  readonly offset: number;
  /** Its segments' lengths, to cut the bytes read back into segments again. */
  readonly lengths: readonly number[];
}

/**
 * A runner's spill directory: `<root>/<host>-<pid>`, its own, so that runners sharing a
 * root (on one host, or a shared file system) never touch each other's files. Each batch of
 * spilled objects is one file written with one writev; an object is read back with one
 * positioned read. A runner starting removes the directories of dead runners of its host
 * (killed, so never cleaned), and its own on close.
 */
export class SpillDir {
  readonly dir: string;
  private made: Promise<void> | undefined;
  private files = 0;
  /** Files being removed (unlinks run in the background). */
  private readonly removing = new Set<Promise<void>>();
  /** Bytes in live batch files (freed objects' bytes count until their file goes). */
  bytesOnDisk = 0;

  constructor(readonly root: string = defaultSpillRoot()) {
    this.dir = path.join(root, `${os.hostname()}-${process.pid}`);
  }

  /** Removes the directories that runners of this host left behind when they died. */
  async cleanStale(): Promise<string[]> {
    const mine = `${os.hostname()}-`;
    let names: string[];
    try {
      names = await fsp.readdir(this.root);
    } catch {
      return []; // no root yet: nothing spilled here before
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!name.startsWith(mine)) continue;
      const pid = Number(name.slice(mine.length));
      if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
      await fsp.rm(path.join(this.root, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  /** Writes `objects` (each one's segments, in order) to a new batch file: where each one went. */
  async write(objects: readonly (readonly Uint8Array[])[]): Promise<SpillPlace[]> {
    await (this.made ??= fsp.mkdir(this.dir, { recursive: true }).then(() => undefined));
    const file: SpillFile = { path: path.join(this.dir, `${++this.files}.spill`), live: 0, size: 0 };
    const places: SpillPlace[] = [];
    const buffers: Uint8Array[] = [];
    let offset = 0;
    for (const segments of objects) {
      places.push({ file, offset, lengths: segments.map((s) => s.byteLength) });
      for (const s of segments) {
        buffers.push(s);
        offset += s.byteLength;
      }
    }
    // No fsync: spilled bytes need not outlive the runner (its objects go with it).
    const h = await fsp.open(file.path, "w");
    try {
      let written = 0;
      // libuv splits more buffers than IOV_MAX into several writes; a short write (a full disk) is retried from where it stopped.
      while (written < offset) {
        const { bytesWritten } = await h.writev(written === 0 ? buffers : rest(buffers, written), written);
        if (bytesWritten === 0) throw Object.assign(new Error(`no space left writing ${file.path}`), { code: "ENOSPC" });
        written += bytesWritten;
      }
    } catch (err) {
      await h.close().catch(() => undefined);
      await fsp.rm(file.path, { force: true });
      throw err;
    }
    await h.close();
    this.bytesOnDisk += (file.size = offset);
    return places;
  }

  /**
   * An object's segments, read back with one positioned read into one fresh buffer (shared
   * memory if `shared`: the store hands big values to threads in place).
   */
  async read(place: SpillPlace, shared: boolean): Promise<Uint8Array[]> {
    const total = place.lengths.reduce((a, b) => a + b, 0);
    const buf = new Uint8Array(shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total));
    const h = await fsp.open(place.file.path, "r");
    try {
      let got = 0;
      while (got < total) {
        const { bytesRead } = await h.read(buf, got, total - got, place.offset + got);
        if (bytesRead === 0) throw new Error(`${place.file.path} is shorter than expected`);
        got += bytesRead;
      }
    } finally {
      await h.close();
    }
    const segments: Uint8Array[] = [];
    let at = 0;
    for (const n of place.lengths) {
      segments.push(buf.subarray(at, (at += n)));
    }
    return segments;
  }

  /** The file's last object is gone: so is the file. */
  drop(file: SpillFile): void {
    this.bytesOnDisk -= file.size;
    const p: Promise<void> = fsp.rm(file.path, { force: true }).catch(() => undefined).finally(() => this.removing.delete(p));
    this.removing.add(p);
  }

  /** Resolves once the files dropped so far are gone from the disk. */
  async removed(): Promise<void> {
    await Promise.all(this.removing);
  }

  /** Removes this runner's directory and everything in it (synchronously: also from an exit handler). */
  removeAll(): void {
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // Never made (its root is not a directory we can write): nothing of ours is there.
    }
    this.made = undefined;
    this.bytesOnDisk = 0;
  }
}

/** `buffers` without their first `skip` bytes. */
function rest(buffers: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
