import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { SandboxError } from "../../errors.ts";
import { alive } from "../process-alive.ts";

// One action's directory, holding hard links to its inputs and nothing else when its command
// starts. Every path an action declares (inputs, outputs, cwd) is relative and stays inside
// it; an output is taken only if it is a regular file whose real directory is inside the
// sandbox, so a command cannot make the runner read or move a file elsewhere through a
// symlink it planted.
//
// Directories are reused, never made and removed per action. Measured (perf, net/http build,
// 2 runners): making the ~11 directories of each action's sandbox and removing them after
// was about half of the runner processes' CPU, nearly all of it in ext4's inode allocation
// (find_inode_bit skipping "recently deleted" inodes, which it does on a file system without
// a journal: each removed directory slows every later mkdir on the disk for minutes). So a
// sandbox is emptied when its action ends (its files unlinked, its directories kept), and the
// next action renames the directories it does not need into a spare pool and the ones it needs
// out of it: a rename allocates no inode. The command still sees exactly its own paths.
//
// Synchronous: it runs on the runner's worker thread, which has nothing else to do while its
// action is set up (one command per thread), and each promise-based call costs a hop to
// libuv's thread pool and back.

/** Directories a set of sandbox-relative paths needs (each file's parents, and `cwd`), parents first. */
export function directoriesOf(files: readonly string[], cwd = "."): string[] {
  const dirs = new Set<string>();
  const add = (d: string): void => {
    if (d === "." || dirs.has(d)) return;
    add(path.posix.dirname(d));
    dirs.add(d);
  };
  for (const f of files) add(path.posix.dirname(f));
  add(cwd);
  return [...dirs];
}

const depth = (d: string): number => d.split("/").length;

export class Sandbox {
  /** Its directories now (sandbox-relative), all empty once the action ended. */
  private dirs = new Set<string>();
  busy = false;
  /** Removed after a failed setup: never given back for reuse. */
  dropped = false;

  constructor(readonly root: string) {}

  /** Makes the tree exactly `wanted` (from directoriesOf): unneeded directories to `spare`, needed ones from it. */
  shape(wanted: readonly string[], spare: SpareDirs): void {
    const want = new Set(wanted);
    // Deepest first: a directory leaves after its children (none of which is wanted either).
    for (const d of [...this.dirs].filter((x) => !want.has(x)).sort((a, b) => depth(b) - depth(a))) {
      spare.keep(path.join(this.root, d));
      this.dirs.delete(d);
    }
    for (const d of wanted) {
      if (this.dirs.has(d)) continue;
      spare.place(path.join(this.root, d));
      this.dirs.add(d);
    }
  }

  /** The absolute path of `rel` (already checked by sandboxPath), whose directory shape() made. */
  file(rel: string): string {
    return path.join(this.root, rel);
  }

  /** An output the command made: a regular file inside the sandbox (and whether it is executable), or SandboxError. */
  output(rel: string): { full: string; executable: boolean } | undefined {
    const full = path.join(this.root, rel);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) throw new SandboxError(rel, "the output is a symlink");
    if (!st.isFile()) throw new SandboxError(rel, "the output is not a regular file");
    // realpath(3), not Node's JavaScript realpathSync (an lstat per path component, and a
    // function TurboFan compiled on every fresh runner).
    const dir = realpathSync.native(path.dirname(full));
    if (dir !== this.root && !dir.startsWith(this.root + path.sep)) throw new SandboxError(rel, "the output's directory leads out of the sandbox (a symlink)");
    return { full, executable: (st.mode & 0o111) !== 0 };
  }

  /**
   * Empties it after its action: every file (input links, outputs not taken, what the command
   * left) unlinked, every directory it did not make removed; its own directories kept, empty.
   * Walks down from the root through real directories only, so a symlink a command planted
   * in place of a directory is unlinked, never followed.
   */
  empty(): void {
    const kept = new Set<string>();
    const walk = (rel: string): void => {
      const abs = rel === "." ? this.root : path.join(this.root, rel);
      for (const e of readdirSync(abs, { withFileTypes: true })) {
        const r = rel === "." ? e.name : `${rel}/${e.name}`;
        const full = path.join(abs, e.name);
        if (e.isDirectory() && this.dirs.has(r)) {
          kept.add(r);
          walk(r);
        } else if (e.isDirectory()) {
          rmSync(full, { recursive: true, force: true, maxRetries: 2 });
        } else {
          unlinkSync(full);
        }
      }
    };
    walk(".");
    // A directory the command removed (or replaced) is no longer ours.
    this.dirs = kept;
  }
}

/**
 * Empty directories waiting for a sandbox to need one, in a folder beside the sandboxes (the
 * same file system: a rename moves them). Made with mkdir only when none is left.
 */
export class SpareDirs {
  private readonly names: string[] = [];
  private next = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Takes the empty directory `abs` (its parent stays). */
  keep(abs: string): void {
    const name = path.join(this.dir, String(this.next++));
    renameSync(abs, name);
    this.names.push(name);
  }

  /** Puts an empty directory at `abs` (whose parent exists). */
  place(abs: string): void {
    const name = this.names.pop();
    if (name !== undefined) {
      try {
        renameSync(name, abs);
        return;
      } catch {
        // That spare is gone or unusable: dropped, and the folder made instead (a spare
        // that failed once must not fail every later action of this thread).
        rmSync(name, { recursive: true, force: true });
      }
    }
    mkdirSync(abs);
  }

  /** Forgets every spare (their folder was removed under it) and makes the folder again. */
  reset(): void {
    this.names.length = 0;
    mkdirSync(this.dir, { recursive: true });
  }

  get size(): number {
    return this.names.length;
  }
}

/**
 * A worker thread's sandboxes: a folder of its own under the runner's sandboxes folder, named
 * for the host, process and thread (`<host>-<pid>-<thread>-<random>`), holding the sandboxes
 * and the spare directories. Folders of this host's processes that are gone are removed when
 * one is made; the host in the name keeps a runner from judging by pid alone the folders of
 * runners in other pid namespaces (containers) sharing the cache directory.
 */
export class Sandboxes {
  readonly area: string;
  private readonly spare: SpareDirs;
  private readonly idle: Sandbox[] = [];
  private made = 0;

  constructor(parent: string, thread: number) {
    mkdirSync(parent, { recursive: true });
    const real = realpathSync(parent);
    sweep(real);
    this.area = path.join(real, `${hostname()}-${process.pid}-${thread}-${randomBytes(4).toString("hex")}`);
    mkdirSync(this.area, { mode: 0o700 });
    this.spare = new SpareDirs(path.join(this.area, "spare"));
  }

  /** A sandbox shaped for `files` (inputs and outputs) and `cwd`, empty of files. A failure drops the sandbox it was shaping. */
  take(files: readonly string[], cwd: string): Sandbox {
    let box = this.idle.pop();
    if (box === undefined) box = this.make();
    box.busy = true;
    try {
      box.shape(directoriesOf(files, cwd), this.spare);
    } catch (err) {
      this.drop(box);
      throw err;
    }
    return box;
  }

  private make(): Sandbox {
    const root = path.join(this.area, `box${this.made++}`);
    try {
      mkdirSync(root, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // The thread's folder itself was removed (by hand, or a sweep that misjudged this
      // process dead): made again, with no spares, rather than failing every later action.
      mkdirSync(this.area, { recursive: true, mode: 0o700 });
      this.spare.reset();
      this.idle.length = 0;
      mkdirSync(root, { mode: 0o700 });
    }
    return new Sandbox(root);
  }

  /** A sandbox whose setup failed after take(): removed, never reused (its folders are in doubt). */
  discard(box: Sandbox): void {
    this.drop(box);
  }

  /** Gives a sandbox back once its action ended: emptied and kept for the next, or removed if it cannot be emptied. */
  give(box: Sandbox): void {
    if (box.dropped) return;
    try {
      box.empty();
      box.busy = false;
      this.idle.push(box);
    } catch {
      this.drop(box);
    }
  }

  private drop(box: Sandbox): void {
    box.dropped = true;
    try {
      rmSync(box.root, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // Left for the sweep once this process is gone: its name is never handed out again.
    }
  }

  /** Spare directories on hand (tests). */
  get spares(): number {
    return this.spare.size;
  }
}

/** The pid in a thread folder's name if this host made it: `<host>-<pid>-<thread>-<random>` (or `<pid>-<thread>-<random>` of older runners). */
export function pidOfArea(name: string, host = hostname()): number | undefined {
  const m = /^(?:(.+)-)?(\d+)-\d+-[0-9a-f]{8}$/.exec(name);
  if (m === null || (m[1] !== undefined && m[1] !== host)) return undefined;
  const pid = Number(m[2]);
  return Number.isSafeInteger(pid) ? pid : undefined;
}

/** Removes the sandbox folders of this host's processes that are no longer running. */
function sweep(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = pidOfArea(name);
    if (pid === undefined || pid === process.pid || alive(pid)) continue;
    rmSync(path.join(parent, name), { recursive: true, force: true, maxRetries: 2 });
  }
}
