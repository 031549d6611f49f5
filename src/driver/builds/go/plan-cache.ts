import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import type { GoEnv } from "./go-env.ts";

/** What a plan is made for (plan.ts's GoBuildRequest). */
export type PlanKey = object;

// `go build -n` costs more than all of a fully cached build (it loads and hashes every
// package): a rebuild of unchanged sources reuses the script it printed last time. The script
// is kept with what it was made from: the request, the toolchain, and the size, modification
// time and inode of every file it reads plus the names in every folder those files are in (a
// new .go or .s file changes the plan) and the module files (go.mod, go.sum, go.work).
// Anything different, or missing, and Go plans again. A main package in a git repository gets
// the repository's state stamped into its binary (go's -buildvcs: vcs.revision, vcs.time,
// vcs.modified, in the link's modinfo): a script that says so is reused only while `git`
// still says the same (HEAD, and whether `git status --porcelain` is empty, as go reads it).
// Without that check a plan made from a clean tree was reused once the tree was edited, and
// the binary said vcs.modified=false where go build's said true: the bench's "binary = go's:
// NO" of two full runs (the tree changed while they ran; one quick run reproduced it).

interface Stamp {
  files: Array<[string, number, number, number]>;
  /** Folder, the extensions (besides source files') whose names count, and the hash of the names. */
  dirs: Array<[string, string[], string]>;
}

interface Entry {
  stamp: Stamp;
  script: string;
}

/** The files go build reads from a package folder (go/build's list, cgo's included since a new one changes the plan even with CGO off). */
const SOURCE = /\.(go|s|S|sx|h|hh|hpp|hxx|c|cc|cpp|cxx|m|f|F|for|f90|swig|swigcxx|syso)$/;

const MODULE_FILES = ["go.mod", "go.sum", "go.work", "go.work.sum", "vendor/modules.txt"];

export class PlanCache {
  constructor(private readonly dir: string) {}

  private fileOf(request: PlanKey, env: GoEnv): string {
    const key = createHash("sha256").update(JSON.stringify({ request, env, v: 1 })).digest("hex");
    return join(this.dir, `${key}.json`);
  }

  /** The script of `request` kept from an earlier build, if nothing it was made from changed. */
  lookup(request: PlanKey, env: GoEnv, dir?: string): string | undefined {
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(this.fileOf(request, env), "utf8")) as Entry;
    } catch {
      return undefined;
    }
    const now = stampOf(entry.stamp.files.map(([f]) => f), entry.stamp.dirs.map(([d, ext]) => [d, ext]));
    if (now === undefined || JSON.stringify(now) !== JSON.stringify(entry.stamp)) return undefined;
    const stamped = stampedVcs(entry.script);
    if (stamped !== undefined) {
      const state = dir === undefined ? undefined : gitState(dir);
      if (state === undefined || state.revision !== stamped.revision || state.modified !== stamped.modified) return undefined;
    }
    return entry.script;
  }

  /** Keeps `script`, the plan of `request` made in `dir`, with the stamp of `reads`, the files its plan reads. */
  store(request: PlanKey, env: GoEnv, script: string, dir: string, reads: Iterable<string>): void {
    const files = new Set(reads);
    const dirs = new Set([...files].map((f) => posix.dirname(f)));
    // In a folder holding embedded files (not Go source), names with their extensions are
    // watched too: a new one may match a //go:embed pattern.
    const extra = new Map<string, Set<string>>();
    for (const f of files) {
      if (SOURCE.test(f)) continue;
      const d = posix.dirname(f);
      extra.set(d, (extra.get(d) ?? new Set()).add(posix.extname(f)));
    }
    for (const m of MODULE_FILES) files.add(join(dir, m));
    dirs.add(dir);
    const stamp = stampOf([...files].sort(), [...dirs].sort().map((d) => [d, [...(extra.get(d) ?? [])].sort()]));
    if (stamp === undefined) return;
    const file = this.fileOf(request, env);
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ stamp, script } satisfies Entry));
    renameSync(tmp, file);
  }
}

/** The stamp of these files (absent ones as zeros) and folders; undefined if a folder is gone. */
function stampOf(files: string[], dirs: Array<[string, string[]]>): Stamp | undefined {
  const out: Stamp = { files: [], dirs: [] };
  for (const f of files) {
    try {
      const st = statSync(f);
      out.files.push([f, st.size, st.mtimeMs, st.ino]);
    } catch {
      out.files.push([f, -1, 0, 0]);
    }
  }
  for (const [d, ext] of dirs) {
    try {
      // Only what can change a plan: source files, subfolders, and the extensions embedded
      // here (a build's own output, say a binary written beside main.go, does not).
      const names = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory() || SOURCE.test(e.name) || ext.includes(posix.extname(e.name)))
        .map((e) => e.name);
      out.dirs.push([d, ext, createHash("sha256").update(names.sort().join("\n")).digest("hex")]);
    } catch {
      return undefined;
    }
  }
  return out;
}

/** The repository state a script stamps into its binary (go's -buildvcs), if it stamps one. */
export function stampedVcs(script: string): { revision: string; modified: boolean } | undefined {
  const revision = /vcs\.revision=([0-9a-f]+)/.exec(script)?.[1];
  const modified = /vcs\.modified=(true|false)/.exec(script)?.[1];
  return revision === undefined || modified === undefined ? undefined : { revision, modified: modified === "true" };
}

/** HEAD and whether the working tree differs from it, as go build reads them for -buildvcs; undefined if git cannot say. */
export function gitState(dir: string): { revision: string; modified: boolean } | undefined {
  const git = (args: string[]): string => execFileSync("git", ["-C", dir, "-c", "log.showsignature=false", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  try {
    return { revision: git(["rev-parse", "HEAD"]).trim(), modified: git(["status", "--porcelain"]).trim() !== "" };
  } catch {
    return undefined;
  }
}
