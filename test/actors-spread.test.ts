import { describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/actors.ts");

describe("actor placement", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "actors.ts" });

  it("spreads spawns made at once over the runners (those under way count)", async () => {
    const actors = await Promise.all(Array.from({ length: 8 }, (_, i) => t.m.Counter.spawn(i)));
    const byPid = new Map<number, number>();
    for (const pid of await Promise.all(actors.map((a) => a.pid()))) byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    expect([...byPid.values()]).toEqual([4, 4]);
    await Promise.all(actors.map((a) => a.kill()));
  });
});
