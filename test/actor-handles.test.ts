import { describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/actors.ts");

describe("actor handles travel", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "actors.ts" });

  it("to remote functions on every runner: all reach the same instance", async () => {
    const c = await t.m.Counter.spawn(0);
    await Promise.all(Array.from({ length: 4 }, () => t.m.bump(c, 10)));
    expect(await c.get()).toBe(40);
    await c.kill();
  });

  it("to another actor, which calls it", async () => {
    const c = await t.m.Counter.spawn(100);
    const f = await t.m.Forwarder.spawn(c);
    expect(await f.forward(5)).toBe(105);
    expect(await c.get()).toBe(105);
    await Promise.all([f.kill(), c.kill()]);
  });

  it("over channels: through a driver's channel to a goroutine, and through a runner's channel back", async () => {
    const c = await t.m.Counter.spawn(0);
    const ch = t.cluster.chan<typeof c>(1);
    const done = t.m.fromChannel(ch, 7);
    await ch.send(c);
    expect(await done).toBe(7);
    // A handle sent over a channel made on a runner thread comes back as a live handle here.
    const out = t.cluster.chan<typeof c>(1);
    await t.m.relay(c, out);
    const back = await out.recv();
    expect(back.done).toBe(false);
    expect(await back.value!.add(1)).toBe(8);
    await c.kill();
  });

  it("as an SPMD argument: every rank calls the same actor", async () => {
    const c = await t.m.Counter.spawn(0);
    const results = await t.cluster.spmd(4, t.m.rankAdd, c, 1);
    expect([...results].sort()).toEqual([1, 2, 3, 4]);
    expect(await c.get()).toBe(4);
    await c.kill();
  });

  it("as a method's result and an object's value", async () => {
    const c = await t.m.Counter.spawn(3);
    const r = await t.cluster.put({ handle: c });
    const v = await t.cluster.get(r);
    expect(await v.handle.add(1)).toBe(4);
    expect(v.handle.actorId).toBe(c.actorId);
    await c.kill();
  });
});
