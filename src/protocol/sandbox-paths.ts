import path from "node:path";
import { SandboxError } from "../errors.ts";

// The paths a command declares (inputs, outputs, cwd), checked alike by the driver, before
// anything is sent, and by the runner, which trusts no driver with its disk.

/** `p` as a path inside a sandbox (normalized, `/`-separated), or SandboxError. `"."` only where `dot` allows it (a cwd). */
export function sandboxPath(p: string, dot = false): string {
  if (typeof p !== "string" || p === "") throw new SandboxError(String(p), "empty path");
  if (p.includes("\0")) throw new SandboxError(p, "NUL in a path");
  if (p.includes("\\")) throw new SandboxError(p, "backslash in a path (use /)");
  if (path.posix.isAbsolute(p)) throw new SandboxError(p, "absolute path: paths are relative to the sandbox");
  if (p.split("/").includes("..")) throw new SandboxError(p, "a path may not leave the sandbox (..)");
  const n = path.posix.normalize(p).replace(/\/+$/, "");
  if (n === "." && !dot) throw new SandboxError(p, "names the sandbox itself, not a file in it");
  return n;
}

/** Inputs and outputs must not overlap: no path is another's directory, none is named twice. */
export function checkLayout(inputs: readonly string[], outputs: readonly string[]): void {
  const files = new Set<string>();
  for (const p of [...inputs, ...outputs]) {
    if (files.has(p)) throw new SandboxError(p, "named twice among the inputs and outputs");
    files.add(p);
  }
  for (const p of files) {
    for (let d = path.posix.dirname(p); d !== "."; d = path.posix.dirname(d)) {
      if (files.has(d)) throw new SandboxError(p, `${d} is a file of the action, not a directory`);
    }
  }
}

