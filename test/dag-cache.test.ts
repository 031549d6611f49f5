import { cp, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGraph, local, runGraph, type ActionEvent } from "../src/index.ts";
import { fixture, removeDir, tempDir } from "./helpers.ts";

// The action cache: a second identical build runs nothing and moves nothing (in the same
// cluster: the driver's memory; with new runner processes: the runners' caches on disk), and
// a changed source re-runs only the compile that reads it and the link.

describe("command graphs: the action cache", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("strand-dag-cache-");
    await cp(fixture("c-project").pathname, path.join(dir, "src"), { recursive: true });
  }, 90_000);
  afterAll(() => removeDir(dir));

  const cacheDir = (): string => path.join(dir, "cache");

  it("a second identical run runs nothing and moves nothing; a changed source re-runs its compile and the link only", async () => {
    const file = path.join(dir, "src", "graph.json");
    {
      await using cluster = await local({ runners: 2, threads: 1, cacheDir: cacheDir() });
      const first = await runGraph(cluster, await loadGraph(file));
      expect(first.ok).toBe(true);
      expect(first.counts).toMatchObject({ actions: 3, ran: 3, cached: 0 });

      const events: ActionEvent[] = [];
      const second = await runGraph(cluster, await loadGraph(file), { onAction: (e) => events.push(e) });
      expect(second.counts).toMatchObject({ ran: 0, cached: 3 });
      expect(events.filter((e) => e.type === "sent")).toEqual([]); // answered by the driver: no call at all
      expect(second.results["out/app"]).toEqual(first.results["out/app"]);
    }
    // New runner processes, the same cache directory: their action caches on disk answer.
    {
      await using cluster = await local({ runners: 1, threads: 1, cacheDir: cacheDir() });
      const third = await runGraph(cluster, await loadGraph(file));
      expect(third.counts).toMatchObject({ ran: 0, cached: 3 });
      for (const a of Object.values(third.actions)) {
        expect(a.cached).toBe(true);
        expect(a.bytesUploaded + a.bytesFetched).toBe(0); // not even the sources were sent
      }
      expect(cluster.execStats).toMatchObject({ ran: 0, cached: 3 });

      await writeFile(path.join(dir, "src", "greet.c"), `#include "greet.h"\n\nint add(int a, int b) { return a + b + 1; }\nconst char *greeting(void) { return "hello again"; }\n`);
      const fourth = await runGraph(cluster, await loadGraph(file));
      expect(fourth.ok).toBe(true);
      expect(fourth.actions["compile-main"]!.cached).toBe(true);
      expect(fourth.actions["compile-greet"]!.cached).toBe(false);
      expect(fourth.actions["link"]!.cached).toBe(false);
      expect(fourth.counts).toMatchObject({ ran: 2, cached: 1 });
      expect(fourth.results["out/app"]!.hash).not.toBe(third.results["out/app"]!.hash);
    }
  }, 90_000);
});
