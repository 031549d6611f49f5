import { cp, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError, loadGraph, local, runGraph, type Graph } from "../src/index.ts";
import { fixture, removeDir, tempDir } from "./helpers.ts";

// A compile error: CommandError with gcc's message, the link that reads the object file is
// skipped, and the action that does not depend on it still runs.

describe("command graphs: a compile error", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("strand-dag-error-");
    await cp(fixture("c-project").pathname, path.join(dir, "src"), { recursive: true });
    await writeFile(path.join(dir, "src", "greet.c"), `#include "greet.h"\n\nint add(int a, int b) { return a + b }\n`);
  }, 90_000);
  afterAll(() => removeDir(dir));

  it("fails the compile with the compiler's message and stops its dependents only", async () => {
    await using cluster = await local({ runners: 2, threads: 1, cacheDir: path.join(dir, "cache") });
    const graph: Graph = await loadGraph(path.join(dir, "src", "graph.json"));
    const result = await runGraph(cluster, graph);
    expect(result.ok).toBe(false);
    const err = result.failed["compile-greet"];
    expect(err).toBeInstanceOf(CommandError);
    const ce = err as CommandError;
    expect(ce.exitCode).toBe(1);
    expect(ce.argv).toEqual(["gcc", "-O2", "-c", "greet.c", "-o", "greet.o"]);
    expect(ce.action).toBe("compile-greet");
    expect(ce.stderr).toMatch(/greet\.c:3:\d+: error: expected ';' before '}' token/);
    expect(ce.message).toContain("error: expected ';'");
    expect(result.skipped).toEqual(["link"]);
    expect(result.actions["compile-main"]?.cached).toBe(false); // the independent compile ran
    expect(result.counts).toMatchObject({ ran: 1, failed: 1, skipped: 1 });
    expect(result.results).toEqual({});
  }, 90_000);

  it("cluster.exec rejects with the same CommandError", async () => {
    await using cluster = await local({ runners: 1, threads: 1, cacheDir: path.join(dir, "cache") });
    const src = await cluster.putFile(path.join(dir, "src", "greet.c"));
    const h = await cluster.putFile(path.join(dir, "src", "greet.h"));
    const err = await cluster.exec({ argv: ["gcc", "-c", "greet.c"], inputs: { "greet.c": src, "greet.h": h }, outputs: ["greet.o"], tools: ["gcc"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).stderr).toContain("error: expected ';'");
  }, 90_000);
});
