import { describe, expect, it } from "vitest";
import { local, runGraph, ToolchainError, type ActionEvent, type Graph } from "../src/index.ts";
import { removeDir, tempDir } from "./helpers.ts";

// Runners tell drivers the tools they offer; an action requiring what no runner offers is
// refused with ToolchainError before anything runs.

describe("toolchains", () => {
  it("runners report go by GOVERSION and C compilers by binary hash and version", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const tools = cluster.runners[0]!.tools;
    const go = tools.find((t) => t.name === "go");
    expect(go?.version).toMatch(/^go1\.\d+/);
    const gcc = tools.find((t) => t.name === "gcc");
    expect(gcc?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(gcc?.version).toMatch(/^\d+/);
    expect(gcc?.about).toMatch(/gcc/i);
  }, 90_000);

  it("refuses a graph needing a version no runner has, before any action runs", async () => {
    const dir = await tempDir();
    try {
      await using cluster = await local({ runners: 2, threads: 1, cacheDir: dir });
      const events: ActionEvent[] = [];
      const graph: Graph = {
        actions: [
          { id: "fine", argv: ["gcc", "--version"], tools: ["gcc"], inputs: {}, outputs: [] },
          { id: "old-go", argv: ["go", "version"], tools: ["go@go1.4.3"], inputs: {}, outputs: [] },
        ],
      };
      const err = await runGraph(cluster, graph, { onAction: (e) => events.push(e) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolchainError);
      expect((err as ToolchainError).tool).toBe("go@go1.4.3");
      expect((err as ToolchainError).message).toMatch(/action old-go: no runner offers go@go1\.4\.3 \(runners offer: go@go1\.\d+/);
      expect(events).toEqual([]);
      expect(cluster.stats.calls).toBe(0);
    } finally {
      await removeDir(dir);
    }
  }, 90_000);

  it("a runner limited to no tools (--tools none) gets no command needing one", async () => {
    const dir = await tempDir();
    await using cluster = await local({ runners: 1, threads: 1, tools: [], cacheDir: dir });
    expect(cluster.runners[0]!.tools).toEqual([]);
    const err = await cluster.exec({ argv: ["gcc", "--version"], tools: ["gcc"], inputs: {}, outputs: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolchainError);
    expect((err as Error).message).toContain("no runner offers gcc (runners offer: no tools on 127.0.0.1:");
    expect(cluster.stats.calls).toBe(0);
    // A command that needs no tool still runs there.
    expect((await cluster.exec({ argv: ["sh", "-c", "echo hi"], inputs: {}, outputs: [] })).stdout).toBe("hi\n");
    await removeDir(dir);
  }, 90_000);
});
