import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { describeTool, type ToolInfo } from "../../protocol/exec-wire.ts";
import { hashFile } from "./file-cache.ts";

// The tools a runner offers to commands, found once as it starts and told to every driver in
// its runner info: Go by the version it reports (`go env GOVERSION`), C compilers by the
// content hash of the resolved binary and the version they print. Drivers send an action
// only to runners whose tools meet its requirements (driver/builds/toolchains.ts).

const run = promisify(execFile);

/** The tools looked for when the runner is not told which (`--tools`). */
export const KNOWN_TOOLS = ["go", "gcc", "cc", "clang"] as const;

/** `name` on PATH, resolved through symlinks (cc -> gcc-12). */
function which(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return realpathSync(p);
    } catch {
      // not here
    }
  }
  return undefined;
}

const firstLine = (s: string): string => s.split("\n", 1)[0]!.trim();

/**
 * What was found before, by resolved binary and its size and modification time: asking
 * `go env` and hashing the binaries costs 0.4-0.9 s, paid again by every runner start
 * otherwise. A binary replaced in place (a new version) has a new size or time.
 */
type Known = Record<string, { size: number; mtimeMs: number; info: ToolInfo }>;

function readKnown(file: string | undefined): Known {
  if (file === undefined) return {};
  try {
    const k = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return typeof k === "object" && k !== null ? (k as Known) : {};
  } catch {
    return {};
  }
}

async function detect(name: string, known: Known): Promise<ToolInfo | undefined> {
  const bin = which(name);
  if (bin === undefined) return undefined;
  const st = statSync(bin);
  const key = `${name}:${bin}`;
  const k = known[key];
  if (k !== undefined && k.size === st.size && k.mtimeMs === st.mtimeMs && k.info.name === name) return k.info;
  const info = await ask(name, bin);
  if (info !== undefined) known[key] = { size: st.size, mtimeMs: st.mtimeMs, info };
  return info;
}

async function ask(name: string, bin: string): Promise<ToolInfo | undefined> {
  const opts = { timeout: 10_000, env: process.env };
  if (name === "go") {
    const [{ stdout }, hash] = await Promise.all([run(bin, ["env", "GOVERSION"], opts), hashFile(bin)]);
    const version = stdout.trim();
    return { name, version, hash, about: `${version} (${bin})` };
  }
  const [dump, about, hash] = await Promise.all([run(bin, ["-dumpversion"], opts), run(bin, ["--version"], opts), hashFile(bin)]);
  return { name, version: dump.stdout.trim(), hash, about: firstLine(about.stdout) };
}

/**
 * The tools to offer: those named (`--tools go,gcc`; `none` offers nothing), or every known
 * one found. A named tool the runner cannot run is left out with a warning.
 */
export async function detectTools(only: readonly string[] | undefined, log: Logger, cacheFile?: string): Promise<ToolInfo[]> {
  const names = only === undefined ? [...KNOWN_TOOLS] : only.filter((n) => n !== "none");
  const known = readKnown(cacheFile);
  const before = JSON.stringify(known);
  const found = await Promise.all(names.map(async (n) => {
    try {
      const t = await detect(n, known);
      if (t === undefined && only !== undefined) log.warn({ tool: n }, "--tools names a tool this runner cannot find on its PATH");
      return t;
    } catch (err) {
      log.warn({ tool: n, err: (err as Error).message }, "cannot tell this tool's version: not offered");
      return undefined;
    }
  }));
  const tools = found.filter((t): t is ToolInfo => t !== undefined);
  if (cacheFile !== undefined && JSON.stringify(known) !== before) {
    try {
      mkdirSync(path.dirname(cacheFile), { recursive: true });
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(known));
      renameSync(tmp, cacheFile);
    } catch (err) {
      log.debug({ err: (err as Error).message }, "cannot keep the tools found");
    }
  }
  if (tools.length > 0) log.debug({ tools: tools.map(describeTool) }, "tools offered to commands");
  return tools;
}
