import { spawnSync } from "node:child_process";
import path from "node:path";
import { clangArgs } from "../src/cli/cc-command.ts";
import { fixture } from "./helpers.ts";

// The C test programs of the Wasm rank runtime (test/fixtures/wasm/), compiled by the real
// clang into a test's temp folder, as `strand cc` compiles them.

/** Compiles fixtures/wasm/<name>.c to <dir>/<name>.wasm (extra clang flags after) and returns the path. */
export function compileFixture(dir: string, name: string, ...flags: string[]): string {
  const out = path.join(dir, `${name}.wasm`);
  const r = spawnSync("clang", clangArgs([fixture(`wasm/${name}.c`).pathname, ...flags, "-o", out]), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`clang failed for ${name}.c (${r.status ?? r.error?.message}):\n${r.stderr}`);
  return out;
}
