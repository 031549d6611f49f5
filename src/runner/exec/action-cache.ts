import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { threadId } from "node:worker_threads";
import type { ActionHit } from "../../protocol/exec-wire.ts";
import { alive } from "../process-alive.ts";
import type { FileCache } from "./file-cache.ts";

// The runner's half of the action cache (the driver keeps the other, in memory, per cluster):
// an action's key (a hash of its argv, env, cwd, tools, inputs and outputs) -> the outputs it
// made. On disk beside the file cache, so it outlives the runner process and a new driver's
// identical build runs nothing; an entry counts only while every output it names is still in
// the file cache.
//
// Kept as append-only logs, one per writer (a runner thread): `<pid>-<thread>-<random>.log`,
// a JSON line per entry. A file per entry (written whole, renamed into place) cost a new inode
// per action, and on this machine's ext4 (no journal) allocating an inode walks past every
// inode freed in the last seconds: creating files was 31% of a runner worker thread's CPU in a
// net/http build (perf, loaded; the entry's file was one of the two files the thread made per
// action), and ~150 more directories for the entries' shards in a fresh cache. A log is one
// write() per entry. Each writer appends only to its own log, so a line is whole once its
// newline is there; readers (the other threads and runners sharing the cache folder) read
// what the logs gained since they last looked, on a miss. Entries of the earlier layout
// (`ab/<key>.json`) are still read.

const KEY = /^[0-9a-f]{64}$/;
/** A writer's log (`<pid>-<thread>-<random>.log`), or logs of gone writers merged (`merged-<random>.log`). */
const LOG = /^(?:(\d+)-\d+|merged)-[0-9a-f]+\.log$/;
/** Logs of processes that are gone, merged into one when a cache opens and finds more than this. */
const MERGE_AT = 16;

export type ActionEntry = ActionHit;

interface Line extends ActionEntry {
  key: string;
}

export class ActionCache {
  private readonly dir: string;
  private readonly entries = new Map<string, ActionEntry>();
  /** How far each log has been read (bytes up to its last whole line). */
  private readonly read = new Map<string, number>();
  private readonly own: string;
  private fd: number | undefined;

  constructor(execDir: string, private readonly files: FileCache) {
    this.dir = path.join(execDir, "actions");
    mkdirSync(this.dir, { recursive: true });
    this.own = `${process.pid}-${threadId}-${randomBytes(4).toString("hex")}.log`;
    this.mergeGone();
    this.refresh();
  }

  private legacyPath(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  // Synchronous: on the worker thread, as the sandbox (sandbox.ts).
  lookup(key: string): ActionEntry | undefined {
    if (!KEY.test(key)) throw new TypeError(`bad action key ${JSON.stringify(key.slice(0, 80))}`);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      this.refresh();
      entry = this.entries.get(key) ?? this.legacy(key);
    }
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry.outputs) || !entry.outputs.every((o) => this.files.has(o.hash, o.executable))) return undefined;
    return entry;
  }

  /** Many keys, the logs read once: a rebuild's probe. */
  lookupMany(keys: string[]): (ActionEntry | null)[] {
    if (keys.some((k) => !this.entries.has(k))) this.refresh();
    return keys.map((k) => this.lookup(k) ?? null);
  }

  store(key: string, entry: ActionEntry): void {
    if (!KEY.test(key)) throw new TypeError(`bad action key ${JSON.stringify(key.slice(0, 80))}`);
    this.entries.set(key, entry);
    const line: Line = { key, outputs: entry.outputs, stdout: entry.stdout, stderr: entry.stderr };
    this.fd ??= openSync(path.join(this.dir, this.own), "a", 0o644);
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  /** Reads what every log (but this thread's own, whose entries it holds) gained since it was last read. */
  private refresh(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === this.own || !LOG.test(name)) continue;
      const from = this.read.get(name) ?? 0;
      let fd: number;
      try {
        fd = openSync(path.join(this.dir, name), "r");
      } catch {
        continue; // merged away meanwhile
      }
      try {
        const size = fstatSync(fd).size;
        if (size <= from) continue;
        const buf = Buffer.allocUnsafe(size - from);
        const n = readSync(fd, buf, 0, buf.length, from);
        const end = buf.lastIndexOf(10, n - 1);
        if (end < 0) continue; // a line still being written
        this.parse(buf.toString("utf8", 0, end));
        this.read.set(name, from + end + 1);
      } finally {
        closeSync(fd);
      }
    }
  }

  private parse(text: string): void {
    for (const l of text.split("\n")) {
      if (l === "") continue;
      try {
        const { key, outputs, stdout, stderr } = JSON.parse(l) as Line;
        if (typeof key === "string" && KEY.test(key)) this.entries.set(key, { outputs, stdout, stderr });
      } catch {
        // a torn line (a writer killed mid-write): that action runs again
      }
    }
  }

  private legacy(key: string): ActionEntry | undefined {
    try {
      return JSON.parse(readFileSync(this.legacyPath(key), "utf8")) as ActionEntry;
    } catch {
      return undefined; // none, or a torn or foreign file: run the action
    }
  }

  /**
   * Every runner start adds logs (one per thread that stored an entry): those of processes
   * that are gone are merged into one once there are many, so a lookup reads few files. Two
   * runners merging at once both write a merged log; an entry twice is harmless.
   */
  private mergeGone(): void {
    let gone: string[];
    try {
      gone = readdirSync(this.dir).filter((n) => {
        const m = LOG.exec(n);
        return m !== null && (m[1] === undefined || !alive(Number(m[1])));
      });
    } catch {
      return;
    }
    if (gone.length <= MERGE_AT) return;
    const parts: string[] = [];
    for (const n of gone) {
      try {
        const text = readFileSync(path.join(this.dir, n), "utf8");
        parts.push(text.slice(0, text.lastIndexOf("\n") + 1));
      } catch {
        // merged by another runner meanwhile
      }
    }
    const merged = `merged-${randomBytes(4).toString("hex")}.log`;
    const tmp = path.join(this.dir, `.${merged}.tmp`);
    writeFileSync(tmp, parts.join(""));
    renameSync(tmp, path.join(this.dir, merged));
    for (const n of gone) {
      try {
        unlinkSync(path.join(this.dir, n));
      } catch {
        // gone already
      }
    }
  }
}
