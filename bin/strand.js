#!/usr/bin/env node
// Runs the compiled CLI; in a source checkout without dist/, runs the TypeScript through tsx.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const src = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), src, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
