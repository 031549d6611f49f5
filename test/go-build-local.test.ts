import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentId, readBuildId } from "../src/driver/builds/go/build-id.ts";
import { runGraphLocally } from "../src/driver/builds/go/local-executor.ts";
import { planGoBuild } from "../src/driver/builds/go/plan.ts";
import { copyGoFixture, goArchives, goBuild, withoutBuildId } from "./go-builds.ts";

// A plan is complete and faithful when its actions, each run alone in a sandbox holding only
// its declared inputs, make what `go build -trimpath` makes: here on this machine, without a
// cluster, so a wrong plan shows apart from the cluster's part.

const run = promisify(execFile);

describe("a planned go build, run action by action in sandboxes", () => {
  let dir: string;
  let scratch: string;
  beforeAll(() => {
    dir = copyGoFixture("multi");
    scratch = mkdtempSync(join(tmpdir(), "strand-go-local-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("makes the program go build makes, byte for byte but the build ID, and it runs", { timeout: 480_000 }, async () => {
    const plan = await planGoBuild({ dir, packages: ["."] });
    const result = await runGraphLocally(plan.graph, { store: mkdtempSync(join(scratch, "store-")) });
    const ours = result.outputs.get(plan.binary!.action)!.get(plan.binary!.output)!;
    const theirs = join(scratch, "multi-go");
    await goBuild(dir, ["-o", theirs, "."]);
    expect((await withoutBuildId(ours)).equals(await withoutBuildId(theirs))).toBe(true);
    // Go's own content ID (the hash of the file with its build ID zeroed) agrees.
    expect(contentId(await readBuildId(ours))).toBe(contentId(await readBuildId(theirs)));
    const { stdout } = await run(ours, ["gopher"]);
    expect(stdout).toBe("== multi ==\nhello, gopher (1 names)\nsum: 10\n");
  });

  it("makes the archives of standard packages (assembly, embedded files) that go build makes", { timeout: 480_000 }, async () => {
    const packages = ["internal/bytealg", "crypto/internal/nistec", "strconv"];
    const plan = await planGoBuild({ dir, packages });
    const result = await runGraphLocally(plan.graph, { store: mkdtempSync(join(scratch, "store-")) });
    const theirs = await goArchives(dir, packages, scratch);
    for (const pkg of packages) {
      const a = plan.archives[pkg]!;
      const ours = result.outputs.get(a.action)!.get(a.output)!;
      expect((await withoutBuildId(ours)).equals(await withoutBuildId(theirs[pkg]!)), pkg).toBe(true);
    }
  });
});
