import { describe, expect, it } from "vitest";
import { ActorExistsError, ActorNotFoundError, Cluster, type Remote } from "../src/index.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { fixture, rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

// Named actors seen from two drivers of the same runners: one finds what the other spawned,
// both reach the one instance, names are unique, and getOrSpawn racing from both yields one.

type A = typeof import("./fixtures/actor-faults.ts");
type Tally = InstanceType<A["Tally"]>;

describe("named actors, from two drivers", () => {
  let second!: Cluster;
  let m2!: Remote<A>;
  const t = useCluster<{ m: A }>(async (defer) => {
    const runners = await startLocalRunners({ runners: 2, threads: 1 });
    defer(() => runners.stop());
    const open = (): Promise<Cluster> => Cluster.create({ runners: runners.addresses, token: runners.token });
    second = await open();
    defer(() => second.close());
    m2 = await second.import<A>(fixture("actor-faults.ts"));
    return open();
  }, { m: "actor-faults.ts" });

  /** The actors named `name` the runners hold. */
  const named = async (c: Cluster, name: string): Promise<string[]> =>
    (await c.runnerStats()).flatMap((s) => (s.actors ?? []).filter((a) => a.name === name).map((a) => a.id));

  it("an actor spawned with a name is found by the second driver; calls from both reach the one instance", async () => {
    const name = "shared-counter";
    const a = await t.m.Tally.spawn.with({ name })(100, "first");
    const b = await second.actor<Tally>(name);
    expect(b.actorId).toBe(a.actorId);
    expect(b.actorName).toBe(name);
    expect(b.className).toBe("Tally");
    // Interleaved from both drivers: every add lands on the one state.
    const adds = await Promise.all([a.add(1), b.add(10), a.add(1), b.add(10)]);
    expect(Math.max(...adds)).toBe(122);
    expect(await a.get()).toBe(122);
    expect(await b.get()).toBe(122);
    expect(await b.pid()).toBe(await a.pid());
    expect(await named(second, name)).toEqual([a.actorId]);
    await a.kill();
    // Killed by its owner: the name is free, and the second driver's handle fails typed.
    expect(await rejectionOf(second.actor(name))).toBeInstanceOf(ActorNotFoundError);
  });

  it("a second spawn of a live name fails with ActorExistsError, from either driver; the name is free once the actor ends", async () => {
    const name = "unique";
    const a = await t.m.Tally.spawn.with({ name })(1, "holder");
    for (const tryAgain of [() => t.m.Tally.spawn.with({ name })(2, "again"), () => m2.Tally.spawn.with({ name })(3, "other driver")]) {
      const err = await rejectionOf(tryAgain());
      expect(err).toBeInstanceOf(ActorExistsError);
      expect((err as Error).message).toContain(name);
    }
    expect(await named(t.cluster, name)).toEqual([a.actorId]);
    expect(await a.add(1)).toBe(2); // untouched by the refused spawns
    await a.kill();
    const b = await m2.Tally.spawn.with({ name })(7, "next holder");
    expect(await (await t.cluster.actor<Tally>(name)).get()).toBe(7);
    await b.kill();
  });

  it("an unknown name fails with ActorNotFoundError", async () => {
    const err = await rejectionOf(second.actor("no-such-actor"));
    expect(err).toBeInstanceOf(ActorNotFoundError);
    expect((err as Error).message).toContain("no-such-actor");
  });

  it("getOrSpawn racing from two drivers yields one actor, which both then use", async () => {
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      const [a, b] = await Promise.all([t.m.Tally.getOrSpawn({ name }, 0, "from first"), m2.Tally.getOrSpawn({ name }, 0, "from second")]);
      expect(b.actorId).toBe(a.actorId);
      expect(await named(t.cluster, name)).toEqual([a.actorId]);
      await Promise.all([a.add(1), b.add(2)]);
      expect(await a.get()).toBe(3);
      // A later getOrSpawn finds it too, rather than making another.
      const c = await m2.Tally.getOrSpawn({ name }, 0, "late");
      expect(c.actorId).toBe(a.actorId);
      // Exactly one of the two drivers spawned it (and owns it); any handle may kill it.
      const owners = [t.cluster, second].filter((d) => d.stats.actors.some((x) => x.id === a.actorId && x.owned));
      expect(owners).toHaveLength(1);
      await b.kill();
      expect(await named(t.cluster, name)).toEqual([]);
    }
  });

  it("getOrSpawn racing from two drivers while the winner's constructor still runs: the loser waits for it and gets the same actor", async () => {
    const name = "slow-to-build";
    const [a, b] = await Promise.all([t.m.SlowToBuild.getOrSpawn({ name }, 800), m2.SlowToBuild.getOrSpawn({ name }, 800)]);
    expect(b.actorId).toBe(a.actorId);
    expect(await named(t.cluster, name)).toEqual([a.actorId]);
    expect(await b.where()).toBe(await a.where());
    await a.kill();
  });
});
