import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { lstat, mkdir, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { SandboxError } from "../../errors.ts";

// One action's directory: made fresh under the runner's exec directory with a random name,
// filled with hard links to its inputs, removed when the action ends. Every path an action
// declares (inputs, outputs, cwd) is relative and stays inside it; an output is taken only if
// it is a regular file whose real directory is inside the sandbox, so a command cannot make
// the runner read or move a file elsewhere through a symlink it planted.

export class Sandbox {
  private constructor(readonly root: string) {}

  static async create(parent: string): Promise<Sandbox> {
    mkdirSync(parent, { recursive: true });
    const root = path.join(await realpath(parent), randomBytes(9).toString("hex"));
    await mkdir(root, { mode: 0o700 });
    return new Sandbox(root);
  }

  /** The absolute path of `rel` (already checked by sandboxPath); makes its directory. */
  async prepare(rel: string): Promise<string> {
    const full = path.join(this.root, rel);
    await mkdir(path.dirname(full), { recursive: true });
    return full;
  }

  /** An output the command made: a regular file inside the sandbox, or SandboxError. */
  async output(rel: string): Promise<string | undefined> {
    const full = path.join(this.root, rel);
    let st;
    try {
      st = await lstat(full);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) throw new SandboxError(rel, "the output is a symlink");
    if (!st.isFile()) throw new SandboxError(rel, "the output is not a regular file");
    const dir = await realpath(path.dirname(full));
    if (dir !== this.root && !dir.startsWith(this.root + path.sep)) throw new SandboxError(rel, "the output's directory leads out of the sandbox (a symlink)");
    return full;
  }

  remove(): Promise<void> {
    return rm(this.root, { recursive: true, force: true, maxRetries: 2 });
  }
}
