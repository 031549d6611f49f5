import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ActionHit } from "../../protocol/exec-wire.ts";
import type { FileCache } from "./file-cache.ts";

// The runner's half of the action cache (the driver keeps the other, in memory, per cluster):
// an action's key (a hash of its argv, env, cwd, tools, inputs and outputs) -> the outputs it
// made. On disk beside the file cache, so it outlives the runner process and a new driver's
// identical build runs nothing; an entry counts only while every output it names is still in
// the file cache.

const KEY = /^[0-9a-f]{64}$/;

export type ActionEntry = ActionHit;

export class ActionCache {
  private readonly dir: string;

  constructor(execDir: string, private readonly files: FileCache) {
    this.dir = path.join(execDir, "actions");
    mkdirSync(this.dir, { recursive: true });
  }

  private pathOf(key: string): string {
    if (!KEY.test(key)) throw new TypeError(`bad action key ${JSON.stringify(key.slice(0, 80))}`);
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  // Synchronous: on the worker thread, as the sandbox (sandbox.ts); an entry is a small file.
  lookup(key: string): ActionEntry | undefined {
    let text: string;
    try {
      text = readFileSync(this.pathOf(key), "utf8");
    } catch {
      return undefined;
    }
    let entry: ActionEntry;
    try {
      entry = JSON.parse(text) as ActionEntry;
    } catch {
      return undefined; // a torn or foreign file: run the action
    }
    if (!Array.isArray(entry.outputs) || !entry.outputs.every((o) => this.files.has(o.hash, o.executable))) return undefined;
    return entry;
  }

  store(key: string, entry: ActionEntry): void {
    const dest = this.pathOf(key);
    mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.${randomBytes(4).toString("hex")}`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, dest);
  }
}
