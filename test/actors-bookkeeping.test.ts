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

  it("forgets an actor once it has ended; its handle still says how it died", async () => {
    const before = t.cluster.stats.actors.length;
    const a = await t.m.Counter.spawn(1);
    const b = await t.m.Counter.spawn(2);
    expect(t.cluster.stats.actors.map((x) => x.id)).toEqual(expect.arrayContaining([a.actorId, b.actorId]));
    await a.kill();
    b.release();
    await expect.poll(() => t.cluster.stats.actors.length).toBe(before);
    const err = await a.add(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorDiedError);
    expect((err as ActorDiedError).message).toMatch(/killed/);
  });
});
