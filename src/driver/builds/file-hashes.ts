import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Stats } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

// The driver's memory of what its files hash to, kept on disk between processes: absolute
// path -> (device, inode, size, mtime, ctime) -> SHA-256. A rebuild by a new driver would
// otherwise read and hash every source again before asking anything (817 files, 8.8 MB for
// the net/http program: 130-220 ms of a fully cached build's ~1 s, loaded); with it, putFile
// of an unchanged file is one stat.
//
// Trusting a stat is what make, git and Go's own build cache do; the one hole is a file
// changed twice within the clock's granularity, the second time after it was hashed ("racy
// git"): an entry is recorded only when the file's mtime and ctime are 2 s older than the
// moment it was hashed, so a file still being written is hashed again next time. The bytes
// are hashed again anyway whenever the driver sends them (FileTable.localBytes), so a stale
// entry can never send other bytes under a hash; it could only make an action's key name
// content the file no longer has, which the 2 s rule keeps out.

/** [dev, ino, size, mtimeMs, ctimeMs, sha256] */
type Entry = [number, number, number, number, number, string];

/** Files seen before the store starts over (so it cannot grow without bound). */
const MAX_ENTRIES = 200_000;
/** A file modified this recently is not recorded (see above). */
const RACY_MS = 2000;

/** Where the driver keeps it: $XDG_CACHE_HOME/strand/file-hashes.json (or ~/.cache/strand). */
export function defaultFileHashesPath(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "strand", "file-hashes.json");
}

export class FileHashes {
  private entries: Map<string, Entry> | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  /** Files answered from the store, and hashed: for tests and the build report. */
  hits = 0;
  misses = 0;

  /** `file`: the JSON file it lives in; undefined keeps it in memory only. */
  constructor(private readonly file: string | undefined) {}

  private load(): Map<string, Entry> {
    if (this.entries !== undefined) return this.entries;
    this.entries = new Map();
    if (this.file === undefined) return this.entries;
    try {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as Record<string, Entry>;
      for (const [p, e] of Object.entries(parsed)) if (Array.isArray(e) && e.length === 6 && typeof e[5] === "string") this.entries.set(p, e);
    } catch {
      // absent, torn or foreign: start empty
    }
    return this.entries;
  }

  /** The hash recorded for `file` if its stat is the same as when it was hashed. */
  lookup(file: string, st: Stats): string | undefined {
    const e = this.load().get(file);
    if (e !== undefined && e[0] === st.dev && e[1] === st.ino && e[2] === st.size && e[3] === st.mtimeMs && e[4] === st.ctimeMs) {
      this.hits++;
      return e[5];
    }
    this.misses++;
    return undefined;
  }

  /** Records that `file`, as `st` describes it, hashed to `hash` (read after `st` was taken). */
  record(file: string, st: Stats, hash: string, hashedAt: number): void {
    if (hashedAt - Math.max(st.mtimeMs, st.ctimeMs) < RACY_MS) return;
    const entries = this.load();
    if (entries.size >= MAX_ENTRIES) entries.clear();
    entries.set(file, [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, hash]);
    this.dirty = true;
    // Written once a batch of puts is done, and at the cluster's close.
    this.timer ??= setTimeout(() => this.flush(), 500).unref();
  }

  /** Writes the store if anything changed (whole, renamed into place: concurrent drivers' last write wins). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty || this.file === undefined || this.entries === undefined) return;
    this.dirty = false;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.entries)));
      renameSync(tmp, this.file);
    } catch {
      // a read-only home: hashing again next time is all it costs
    }
  }
}
