import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir } from "node:fs/promises";
import { watch } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalRunners, type LocalRunners } from "../src/driver/local.ts";
import { connect, runGraph, type ActionEvent, type Graph, loadGraph } from "../src/index.ts";
import { fixture, kill9, removeDir, tempDir } from "./helpers.ts";

// A runner SIGKILLed while it runs the link: the link runs again on the other runner, the
// object file the dead runner had made (and held alone: each runner has its own file
// cache, as on two hosts) is made again there first, and the build succeeds.

/** Resolves once `dir` holds a file (the slow action says it started). */
function firstFile(dir: string): Promise<void> {
  return new Promise((resolve) => {
    const w = watch(dir, () => {
      w.close();
      resolve();
    });
    void readdir(dir).then((names) => {
      if (names.length > 0) {
        w.close();
        resolve();
      }
    });
  });
}

describe("command graphs: a runner killed mid-build", () => {
  let dir: string;
  const runners: LocalRunners[] = [];
  beforeAll(async () => {
    dir = await tempDir("strand-dag-kill-");
    await cp(fixture("c-project").pathname, path.join(dir, "src"), { recursive: true });
    await mkdir(path.join(dir, "started"));
    const token = "dag-kill-test-token";
    for (const i of [0, 1]) runners.push(await startLocalRunners({ runners: 1, threads: 1, token, cacheDir: path.join(dir, `cache-${i}`) }));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await removeDir(dir);
  }, 90_000);

  it("re-runs the killed runner's actions elsewhere, remaking its lost outputs, and succeeds", async () => {
    await using cluster = await connect({ runners: runners.map((r) => r.addresses[0]!), token: runners[0]!.token, reconnect: false });
    const graph: Graph = await loadGraph(path.join(dir, "src", "graph.json"));
    const link = graph.actions.find((a) => a.id === "link")!;
    // Slow, and says when it has started: the moment to kill its runner.
    link.argv = ["sh", "-c", `touch "$STARTED/$$"; sleep 2; exec gcc main.o greet.o -o bin/app`];
    link.env = { STARTED: path.join(dir, "started") };

    const events: ActionEvent[] = [];
    let sent: (runner: string) => void = () => {};
    const linkSent = new Promise<string>((resolve) => (sent = resolve));
    const build = runGraph(cluster, graph, {
      onAction: (e) => {
        events.push(e);
        if (e.type === "sent" && e.id === "link") sent(e.runner); // the first send settles it
      },
    });
    const address = await linkSent;
    await firstFile(path.join(dir, "started"));
    await kill9(runners.find((r) => r.addresses[0] === address)!.processes[0]!);

    const result = await build;
    expect(result.ok, JSON.stringify(Object.values(result.failed).map((e) => e.message))).toBe(true);
    const survivor = runners.map((r) => r.addresses[0]!).find((a) => a !== address)!;
    expect(result.actions["link"]!.runner).toBe(survivor);
    // What the victim made and alone held was made again on the survivor.
    expect(result.counts.remade).toBe(1);
    const remade = events.find((e) => e.type === "remade");
    expect(remade?.id).toMatch(/^compile-/);
    expect(result.actions[remade!.id]!.runner).toBe(survivor);

    await cluster.getFile(result.results["out/app"]!, path.join(dir, "app"));
    expect(execFileSync(path.join(dir, "app"), { encoding: "utf8" })).toBe("hello, strand: 5\n");
  }, 90_000);
});
