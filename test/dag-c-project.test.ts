import { execFileSync } from "node:child_process";
import { cp, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, removeDir, runCli, tempDir } from "./helpers.ts";

// `strand dag run` on a small C project: two gcc compiles and a link, on two runner
// processes; the binary it writes runs, and is the same file the same commands make here.

describe("strand dag run: a C project (gcc -c twice, then link)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("strand-dag-c-");
    await cp(fixture("c-project").pathname, path.join(dir, "src"), { recursive: true });
  }, 90_000);
  afterAll(() => removeDir(dir));

  it("writes a binary that runs, byte-identical to the same commands run locally", async () => {
    const cli = runCli(["dag", "run", path.join(dir, "src", "graph.json"), "--local", "2", "--threads", "1", "--cache-dir", path.join(dir, "cache")]);
    const code = await cli.exit;
    expect(code, cli.stderr()).toBe(0);
    const app = path.join(dir, "src", "out", "app");
    expect(execFileSync(app, { encoding: "utf8" })).toBe("hello, strand: 5\n");

    // The same three commands, here, in a directory of the same shape.
    const here = path.join(dir, "here");
    await cp(fixture("c-project").pathname, here, { recursive: true });
    execFileSync("gcc", ["-O2", "-c", "main.c", "-o", "main.o"], { cwd: here });
    execFileSync("gcc", ["-O2", "-c", "greet.c", "-o", "greet.o"], { cwd: here });
    execFileSync("mkdir", ["-p", "bin"], { cwd: here });
    execFileSync("gcc", ["main.o", "greet.o", "-o", "bin/app"], { cwd: here });
    expect(Buffer.compare(await readFile(app), await readFile(path.join(here, "bin", "app")))).toBe(0);

    // Per-action and phase timings, and where each ran.
    const out = cli.stdout();
    for (const id of ["compile-main", "compile-greet", "link"]) expect(out).toMatch(new RegExp(`^${id}\\s+127\\.0\\.0\\.1:\\d+\\s+ran`, "m"));
    expect(out).toMatch(/^phases: plan \d+ ms, build .*dispatch: .*transfer: .*run: /m);
    expect(out).toMatch(/^runner 127\.0\.0\.1:\d+: \d+ actions, busy .*idle/m);
    expect(out).toContain("3 actions: 3 ran, 0 cached, 0 failed, 0 skipped");
  }, 90_000);

  it("writes a trace with --trace: the exec calls on the runners", async () => {
    const trace = path.join(dir, "trace.json");
    const cli = runCli(["dag", "run", path.join(dir, "src", "graph.json"), "--local", "1", "--cache-dir", path.join(dir, "cache-trace"), "--trace", trace, "-q"]);
    expect(await cli.exit, cli.stderr()).toBe(0);
    const events = (JSON.parse(await readFile(trace, "utf8")) as { traceEvents: { name?: string; ph: string }[] }).traceEvents;
    expect(events.filter((e) => e.name === "exec" && e.ph === "X").length).toBeGreaterThanOrEqual(3);
  }, 90_000);
});
