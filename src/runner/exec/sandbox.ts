import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, realpathSync, rmSync } from "node:fs";
import path from "node:path";
import { SandboxError } from "../../errors.ts";

// One action's directory: made fresh under the runner's exec directory with a random name,
// filled with hard links to its inputs, removed when the action ends. Every path an action
// declares (inputs, outputs, cwd) is relative and stays inside it; an output is taken only if
// it is a regular file whose real directory is inside the sandbox, so a command cannot make
// the runner read or move a file elsewhere through a symlink it planted.
//
// Synchronous: it runs on the runner's worker thread, which has nothing else to do while its
// action is set up (one command per thread), and each promise-based call costs a hop to
// libuv's thread pool and back; a std build makes ~340 sandboxes of ~10 files each.

export class Sandbox {
  /** Directories made so far (each made once, however many files it holds). */
  private readonly made = new Set<string>();

  private constructor(readonly root: string) {
    this.made.add(root);
  }

  static create(parent: string): Sandbox {
    mkdirSync(parent, { recursive: true });
    const root = path.join(realpathSync(parent), randomBytes(9).toString("hex"));
    mkdirSync(root, { mode: 0o700 });
    return new Sandbox(root);
  }

  /** The absolute path of `rel` (already checked by sandboxPath); makes its directory. */
  prepare(rel: string): string {
    const full = path.join(this.root, rel);
    const dir = path.dirname(full);
    if (!this.made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.made.add(dir);
    }
    return full;
  }

  /** An output the command made: a regular file inside the sandbox, or SandboxError. */
  output(rel: string): string | undefined {
    const full = path.join(this.root, rel);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) throw new SandboxError(rel, "the output is a symlink");
    if (!st.isFile()) throw new SandboxError(rel, "the output is not a regular file");
    const dir = realpathSync(path.dirname(full));
    if (dir !== this.root && !dir.startsWith(this.root + path.sep)) throw new SandboxError(rel, "the output's directory leads out of the sandbox (a symlink)");
    return full;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true, maxRetries: 2 });
  }
}
