import { describe, expect, it } from "vitest";
import { ActorDiedError, local, type Cluster, type RunnerStatus } from "../src/index.ts";
import { fixture, rejectionOf, RunnerEvents } from "./helpers.ts";

// An actor's runner SIGKILLed: with maxRestarts it comes back on another runner (constructor
// run again with the same arguments; restore(checkpoint) if the class has the pair), calls in
// flight fail with ActorDiedError or go again (maxTaskRetries), later calls wait for it; without
// restarts everything fails with ActorDiedError. Each test starts its own runners: it kills one.

type A = typeof import("./fixtures/actor-faults.ts");

/** The runner hosting actor `id`, as its own stats say (and its process, from the driver's list). */
async function hostOf(cluster: Cluster, id: string): Promise<RunnerStatus> {
  const stats = await cluster.runnerStats();
  const s = stats.find((x) => x.actors?.some((a) => a.id === id));
  expect(s, `a runner reports actor ${id}`).toBeDefined();
  return cluster.runners.find((r) => r.address === s!.address)!;
}

/** The driver's view of one actor (cluster.stats.actors). */
const seen = (cluster: Cluster, id: string) => cluster.stats.actors.find((a) => a.id === id);

describe("actor restarts after its runner is SIGKILLed", () => {
  it("maxRestarts 1: the constructor runs again on another runner with the same arguments (fresh state); the call in flight fails with ActorDiedError; later calls succeed", { timeout: 120_000 }, async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<A>(fixture("actor-faults.ts"));
    const c = await m.Tally.spawn.with({ maxRestarts: 1 })(10, "t1");
    expect(await c.add(5)).toBe(15);
    const victim = await hostOf(cluster, c.actorId);
    expect(await c.pid()).toBe(victim.pid);
    const inFlight = c.stuckIn(victim.pid);
    inFlight.catch(() => {});
    process.kill(victim.pid, "SIGKILL");

    const err = await rejectionOf(inFlight);
    expect(err).toBeInstanceOf(ActorDiedError);
    expect((err as ActorDiedError).actorId).toBe(c.actorId);
    // Made while it restarts (or just after): they wait for the new incarnation, in order.
    const [made, got, added] = await Promise.all([c.made(), c.get(), c.add(1)]);
    expect(made.tag).toBe("t1");
    expect(made.pid).not.toBe(victim.pid);
    expect(got).toBe(10); // no checkpoint(): the constructor's state, not the lost 15
    expect(added).toBe(11);
    expect(seen(cluster, c.actorId)).toMatchObject({ state: "alive", restarts: 1 });
    const host = await hostOf(cluster, c.actorId);
    expect(host.address).not.toBe(victim.address);
    const [stat] = (await cluster.runnerStats()).flatMap((s) => s.actors ?? []).filter((a) => a.id === c.actorId);
    expect(stat!.incarnation).toBe(1);
    await c.kill();
  });

  it("a class with checkpoint()/restore() comes back with its state; restartPolicy \"fresh\" does not", { timeout: 120_000 }, async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<A>(fixture("actor-faults.ts"));
    const kept = await m.Ledger.spawn.with({ maxRestarts: 1 })();
    const victim = await hostOf(cluster, kept.actorId);
    const fresh = await m.Ledger.spawn.with({ maxRestarts: 1, restartPolicy: "fresh", runner: victim.address })();
    for (const k of [5, 7]) {
      await kept.add(k);
      await fresh.add(k);
    }
    const events = new RunnerEvents(cluster);
    process.kill(victim.pid, "SIGKILL");
    await events.next("lost", victim.address);

    expect(await kept.total()).toBe(12);
    expect(await kept.pid()).not.toBe(victim.pid);
    expect(await fresh.total()).toBe(0);
    expect(await fresh.pid()).not.toBe(victim.pid);
    // The restored actor goes on from there, and checkpoints anew.
    expect(await kept.add(1)).toBe(13);
    await Promise.all([kept.kill(), fresh.kill()]);
  });

  it("maxTaskRetries 1: the call in flight is sent again to the new incarnation; calls made meanwhile follow it, in order", { timeout: 120_000 }, async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<A>(fixture("actor-faults.ts"));
    const c = await m.Ledger.spawn.with({ maxRestarts: 1, maxTaskRetries: 1 })();
    expect(await c.add(3)).toBe(3);
    const victim = await hostOf(cluster, c.actorId);
    const events = new RunnerEvents(cluster);
    const inFlight = c.stuckIn(victim.pid);
    process.kill(victim.pid, "SIGKILL");
    await events.next("lost", victim.address);
    const later = [c.add(1), c.add(2), c.total()];
    const survivor = cluster.runners.find((r) => r.address !== victim.address)!;
    expect(await inFlight).toBe(survivor.pid);
    expect(await Promise.all(later)).toEqual([4, 6, 6]);
    expect(seen(cluster, c.actorId)).toMatchObject({ state: "alive", restarts: 1 });
    await c.kill();
  });

  it("maxRestarts 0: the call in flight, the calls queued behind it and every later call fail with ActorDiedError; nothing hangs", { timeout: 120_000 }, async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<A>(fixture("actor-faults.ts"));
    const c = await m.Tally.spawn(1, "mortal");
    const victim = await hostOf(cluster, c.actorId);
    const inFlight = c.stuckIn(victim.pid);
    // One at a time: these wait in the actor's mailbox (or in the driver's outbox) behind it.
    const queued = [c.add(1), c.add(2), c.get()];
    for (const p of [inFlight, ...queued]) p.catch(() => {});
    process.kill(victim.pid, "SIGKILL");

    const errors = await Promise.all([inFlight, ...queued].map((p) => rejectionOf(p)));
    for (const e of errors) {
      expect(e).toBeInstanceOf(ActorDiedError);
      expect((e as ActorDiedError).actorId).toBe(c.actorId);
    }
    expect(await rejectionOf(c.add(1))).toBeInstanceOf(ActorDiedError);
    expect(seen(cluster, c.actorId)).toMatchObject({ state: "dead", restarts: 0 });
    // The cluster serves on: a new actor lands on the survivor.
    const next = await m.Tally.spawn(2, "next");
    expect(await next.add(1)).toBe(3);
    expect(await next.pid()).not.toBe(victim.pid);
    await next.kill();
  });

  it("maxRestarts 1 and no runner left (waitForRunners 0): the restart fails; calls fail with ActorDiedError, nothing hangs", { timeout: 120_000 }, async () => {
    await using cluster = await local({ runners: 1, threads: 1, waitForRunners: 0 });
    const m = await cluster.import<A>(fixture("actor-faults.ts"));
    const c = await m.Tally.spawn.with({ maxRestarts: 1 })(1, "alone");
    const victim = await hostOf(cluster, c.actorId);
    const inFlight = c.stuckIn(victim.pid);
    inFlight.catch(() => {});
    process.kill(victim.pid, "SIGKILL");
    expect(await rejectionOf(inFlight)).toBeInstanceOf(ActorDiedError);
    expect(await rejectionOf(c.add(1))).toBeInstanceOf(ActorDiedError);
    expect(seen(cluster, c.actorId)?.state).toBe("dead");
  });
});
