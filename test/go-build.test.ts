import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError, ToolchainError, local, type Cluster } from "../src/index.ts";
import { goBuildError, goBuildOnCluster } from "../src/driver/builds/go/go-build.ts";
import { PlanCache } from "../src/driver/builds/go/plan-cache.ts";
import { copyGoFixture, goBuild, withoutBuildId } from "./go-builds.ts";

// strand go build on a cluster of 2 local runners: the program go build makes, a rebuild
// from the action cache, a changed source rebuilding only what reads it, and a compile error
// reported as Go reports it, stopping only the actions that needed the failed one.

const run = promisify(execFile);

describe("strand go build on a cluster", () => {
  let dir: string;
  let cacheDir: string;
  let cluster: Cluster;
  const token = randomBytes(18).toString("base64url");
  beforeAll(async () => {
    dir = copyGoFixture("multi");
    // Runners whose file and action caches start empty, whatever ran before.
    cacheDir = mkdtempSync(join(tmpdir(), "strand-go-runners-"));
    cluster = await local({ runners: 2, threads: 1, cacheDir, token });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });
  // Plans kept between builds, as the CLI keeps them: a changed source must still be seen.
  const build = () => goBuildOnCluster(cluster, { dir, packages: ["."], output: "multi" }, { planCache: new PlanCache(join(cacheDir, "go-plans")) });

  it("writes the program go build -trimpath makes (identical but for the build ID), and it runs", { timeout: 480_000 }, async () => {
    const outcome = await build();
    expect(goBuildError(outcome)).toBeUndefined();
    expect(outcome.result.counts.ran).toBe(outcome.plan.graph.actions.length);
    expect(outcome.phases.runners).toHaveLength(2);
    await goBuild(dir, ["-o", "multi-go", "."]);
    expect((await withoutBuildId(join(dir, "multi"))).equals(await withoutBuildId(join(dir, "multi-go")))).toBe(true);
    const { stdout } = await run(join(dir, "multi"), ["strand"]);
    expect(stdout).toBe("== multi ==\nhello, strand (1 names)\nsum: 10\n");
  });

  it("rebuilds from the action cache: nothing runs, the same binary is written", { timeout: 120_000 }, async () => {
    const before = readFileSync(join(dir, "multi"));
    rmSync(join(dir, "multi"));
    const outcome = await build();
    expect(outcome.plan.fromCache).toBe(true);
    expect(outcome.result.counts).toMatchObject({ ran: 0, cached: outcome.plan.graph.actions.length, failed: 0 });
    expect(readFileSync(join(dir, "multi")).equals(before)).toBe(true);
  });

  it("a new driver process (strand go build --runners) against the runners that built it: no action runs, no byte of source is sent", { timeout: 120_000 }, async () => {
    // The CLI as a user runs it a second time, its plan and file-hash caches in a folder of its own.
    const cli = new URL("../bin/strand.js", import.meta.url).pathname;
    const runners = cluster.runners.map((r) => r.address).join(",");
    const { stderr } = await run(process.execPath, [cli, "go", "build", "--runners", runners, "-o", "multi-again"], {
      cwd: dir, env: { ...process.env, STRAND_TOKEN: token, XDG_CACHE_HOME: join(cacheDir, "second-driver") },
    });
    const head = /(\d+) actions in \d+ levels on 2 runners, (\d+) from the action cache/.exec(stderr);
    expect(head, stderr).not.toBeNull();
    expect(head![2]).toBe(head![1]); // every action answered by the runners' action caches: none ran
    expect(stderr).toMatch(/transfer .*\(0\.00 MB from the driver, 0\.00 MB between runners/);
    expect(readFileSync(join(dir, "multi-again")).equals(readFileSync(join(dir, "multi")))).toBe(true);
  });

  it("after a source changes, runs only the actions that read it (and what reads theirs)", { timeout: 120_000 }, async () => {
    const file = join(dir, "greet", "greet.go");
    writeFileSync(file, readFileSync(file, "utf8").replace('"hello, "', '"hi, "'));
    const outcome = await build();
    expect(outcome.plan.fromCache).toBe(false);
    const ran = Object.values(outcome.result.actions).filter((o) => !o.cached).map((o) => o.id).sort();
    expect(ran).toEqual(["compile example.com/multi", "compile example.com/multi/greet", "link example.com/multi"]);
    const { stdout } = await run(join(dir, "multi"), ["strand"]);
    expect(stdout).toContain("hi, strand (1 names)");
  });

  it("a compile error is a CommandError naming the package, with the compiler's message; only what needs it stops", { timeout: 120_000 }, async () => {
    const file = join(dir, "greet", "greet.go");
    writeFileSync(file, readFileSync(file, "utf8").replace("strings.Join(names", "strings.Join(nomes"));
    const outcome = await build();
    expect(outcome.result.ok).toBe(false);
    const err = goBuildError(outcome, dir);
    expect(err).toBeInstanceOf(CommandError);
    const e = err as CommandError;
    expect(e.action).toBe("compile example.com/multi/greet");
    expect(e.stderr).toMatch(/^# example\.com\/multi\/greet\n\.\/greet\/greet\.go:\d+:\d+: undefined: nomes/);
    expect(Object.keys(outcome.result.failed)).toEqual(["compile example.com/multi/greet"]);
    expect(outcome.result.skipped.sort()).toEqual(["compile example.com/multi", "link example.com/multi"]);
    // Its neighbours were built (here: from the cache) all the same.
    expect(outcome.result.actions["pack example.com/multi/calc"]).toBeDefined();
  });
});

describe("strand go build without a matching toolchain", () => {
  it("is refused before anything runs, naming the Go version it needs", { timeout: 120_000 }, async () => {
    const dir = copyGoFixture("multi");
    const cacheDir = mkdtempSync(join(tmpdir(), "strand-go-runners-"));
    // A runner that offers gcc only: no go@<version> for the plan's actions.
    await using cluster = await local({ runners: 1, threads: 1, cacheDir, tools: ["gcc"] });
    try {
      const err = await goBuildOnCluster(cluster, { dir, packages: ["."], output: "multi" }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ToolchainError);
      expect((err as ToolchainError).tool).toMatch(/^go@go1\.\d+/);
      expect(cluster.execStats.ran).toBe(0);
      expect(existsSync(join(dir, "multi"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
