import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stampBuildId } from "../src/protocol/build-id-stamp.ts";

// The runner stamps Go build IDs itself (no `buildid -w` process per action): the file it
// leaves must be byte for byte what `go tool buildid -w` leaves, for an archive the compiler
// made and for a linked binary.

const run = promisify(execFile);

describe("Go build-ID stamp", () => {
  let dir: string;
  let tools: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "strand-buildid-"));
    tools = (await run("go", ["env", "GOTOOLDIR"])).stdout.trim();
    const goroot = (await run("go", ["env", "GOROOT"])).stdout.trim();
    writeFileSync(join(dir, "main.go"), "package main\n\nfunc main() { println(\"stamped\") }\n");
    const env = { ...process.env, GOOS: "linux", GOARCH: "amd64", CGO_ENABLED: "0" };
    await run(join(tools, "compile"), ["-o", "main.a", "-p", "main", "-buildid", "AbCdEfGhIjKlMnOpQrSt/AbCdEfGhIjKlMnOpQrSt", "-complete", "main.go"], { cwd: dir, env });
    // The runtime's archive from the toolchain's own cache is not needed: link against main.a and the std importcfg go list prints.
    const { stdout } = await run("go", ["list", "-export", "-deps", "-f", "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}", "runtime"], { cwd: dir, env: { ...env, GO111MODULE: "off", GOROOT: goroot } });
    writeFileSync(join(dir, "importcfg"), stdout);
    await run(join(tools, "link"), ["-o", "a.out", "-importcfg", "importcfg", "-buildmode=exe", "-buildid=AAAAAAAAAAAAAAAAAAAA/BBBBBBBBBBBBBBBBBBBB/BBBBBBBBBBBBBBBBBBBB/AAAAAAAAAAAAAAAAAAAA", "main.a"], { cwd: dir, env });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [file, id] of [["main.a", "AbCdEfGhIjKlMnOpQrSt/AbCdEfGhIjKlMnOpQrSt"], ["a.out", "AAAAAAAAAAAAAAAAAAAA/BBBBBBBBBBBBBBBBBBBB/BBBBBBBBBBBBBBBBBBBB/AAAAAAAAAAAAAAAAAAAA"]] as const) {
    it(`leaves ${file} as go tool buildid -w does`, { timeout: 60_000 }, async () => {
      const theirs = join(dir, `${file}.go`);
      const ours = join(dir, `${file}.strand`);
      copyFileSync(join(dir, file), theirs);
      copyFileSync(join(dir, file), ours);
      await run(join(tools, "buildid"), ["-w", theirs]);
      const stamped = stampBuildId(ours, id);
      expect(stamped).not.toBe(id);
      expect(stamped.slice(0, id.lastIndexOf("/"))).toBe(id.slice(0, id.lastIndexOf("/")));
      expect(readFileSync(ours).equals(readFileSync(theirs))).toBe(true);
      expect((await run(join(tools, "buildid"), [ours])).stdout.trim()).toBe(stamped);
    });
  }

  it("refuses an ID whose stamped form would change its length", () => {
    const f = join(dir, "short");
    writeFileSync(f, "xx id/short yy");
    expect(() => stampBuildId(f, "id/short")).toThrow(/length mismatch/);
  });
});
