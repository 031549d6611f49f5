import { describe, expect, it } from "vitest";
import { ActorDiedError } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/actors.ts");

describe("the driver's actor bookkeeping", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "actors.ts" });

  it("spreads spawns made at once over the runners (those under way count)", async () => {
    const actors = await Promise.all(Array.from({ length: 8 }, (_, i) => t.m.Counter.spawn(i)));
    const byPid = new Map<number, number>();
    for (const pid of await Promise.all(actors.map((a) => a.pid()))) byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    expect([...byPid.values()]).toEqual([4, 4]);
    await Promise.all(actors.map((a) => a.kill()));
  });

  it("forgets an actor once it has ended, but for the last few; its handle still says how it died", async () => {
    const a = await t.m.Counter.spawn(1);
    expect(t.cluster.stats.actors.find((x) => x.id === a.actorId)?.state).toBe("alive");
    await a.kill();
    expect(t.cluster.stats.actors.find((x) => x.id === a.actorId)?.state).toBe("dead");
    // 25 more end after it: the driver keeps only the last 20 that ended.
    const more = await Promise.all(Array.from({ length: 25 }, (_, i) => t.m.Counter.spawn(i)));
    await Promise.all(more.map((x) => x.kill()));
    const dead = t.cluster.stats.actors.filter((x) => x.state === "dead");
    expect(dead.length).toBe(20);
    expect(dead.some((x) => x.id === a.actorId)).toBe(false);
    const err = await a.add(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorDiedError);
    expect((err as ActorDiedError).message).toMatch(/killed/);
  });
});
