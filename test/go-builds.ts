import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readBuildId, zeroBuildId } from "../src/driver/builds/go/build-id.ts";
import { planningEnv } from "../src/driver/builds/go/go-env.ts";

// What the go build tests share: a fixture program copied where a test may change it, the
// reference build (`go build -trimpath` with a private, empty GOCACHE, so nothing comes from
// an earlier build) and the comparison Go itself makes between two builds: every byte but
// the build ID.

const run = promisify(execFile);

export const goFixture = (name: string): string => new URL(`./fixtures/go/${name}`, import.meta.url).pathname;

/** A copy of test/fixtures/go/<name> in a new temporary folder; remove it with rmSync(dir, {recursive}). */
export function copyGoFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `strand-go-${name}-`));
  cpSync(goFixture(name), dir, { recursive: true });
  return dir;
}

/** `go build -a -trimpath <args>` in `dir` with an empty build cache of its own. */
export async function goBuild(dir: string, args: string[]): Promise<void> {
  const cache = mkdtempSync(join(tmpdir(), "strand-gocache-"));
  try {
    await run("go", ["build", "-a", "-trimpath", "-p=2", ...args], { cwd: dir, env: planningEnv({ GOCACHE: cache }) });
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Each package's archive as `go build -a -trimpath` makes it (from `go list -export`, with a private cache that is then removed). */
export async function goArchives(dir: string, packages: string[], into: string): Promise<Record<string, string>> {
  const cache = mkdtempSync(join(tmpdir(), "strand-gocache-"));
  try {
    const { stdout } = await run("go", ["list", "-a", "-trimpath", "-export", "-f", "{{.ImportPath}} {{.Export}}", ...packages], { cwd: dir, env: planningEnv({ GOCACHE: cache }) });
    const out: Record<string, string> = {};
    for (const line of stdout.trim().split("\n")) {
      const [pkg, file] = line.split(" ");
      const keep = join(into, pkg!.replace(/\//g, "_") + ".a");
      cpSync(file!, keep);
      out[pkg!] = keep;
    }
    return out;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Whether two Go archives or binaries are the same but for their build IDs: what each is with its build ID zeroed. */
export async function withoutBuildId(file: string): Promise<Buffer> {
  return zeroBuildId(readFileSync(file), await readBuildId(file));
}
