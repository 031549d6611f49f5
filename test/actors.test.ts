import { describe, expect, it } from "vitest";
import { ActorDiedError, CancelledError, ImportError, RemoteError, TimeoutError } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/actors.ts");

describe("actors", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "actors.ts" });

  it("spawns an instance and runs its methods in order, keeping its state", async () => {
    const c = await t.m.Counter.spawn(10);
    expect(await c.add(5)).toBe(15);
    const results = await Promise.all(Array.from({ length: 50 }, () => c.add(1)));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => 16 + i));
    expect(await c.get()).toBe(65);
    expect(await c.pid()).not.toBe(process.pid);
    await c.kill();
  });

  it("fails a throwing method with RemoteError and the actor lives on", async () => {
    const c = await t.m.Counter.spawn(1);
    const err = await c.fail("nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).functionName).toBe("Counter.fail");
    expect((err as RemoteError).remoteStack).toMatch(/fail/);
    expect(await c.add(1)).toBe(2);
    await c.kill();
  });

  it("fails spawn with the constructor's remote error", async () => {
    const err = await t.m.Exploding.spawn("no parts").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).message).toMatch(/cannot build: no parts/);
    expect((err as RemoteError).functionName).toBe("Exploding.constructor");
  });

  it("after kill, calls fail with ActorDiedError", async () => {
    const c = await t.m.Counter.spawn(1);
    await c.kill();
    await expect(c.add(1)).rejects.toBeInstanceOf(ActorDiedError);
  });

  it("refuses a method the class lacks", async () => {
    const c = await t.m.Counter.spawn(1);
    const anyC = c as unknown as Record<string, () => Promise<unknown>>;
    await expect(anyC.nope!()).rejects.toBeInstanceOf(ImportError);
    await expect(anyC.toString!()).rejects.toBeInstanceOf(ImportError);
    await c.kill();
  });

  it("keeps a method's result as a Ref", async () => {
    const c = await t.m.Counter.spawn(20);
    const r = c.add.ref(1);
    expect(await t.cluster.get(r)).toBe(21);
    expect(await t.m.double(r)).toBe(42);
    await c.kill();
  });

  it("fails a call past its timeout with TimeoutError; the actor goes on", async () => {
    const c = await t.m.Counter.spawn(7);
    await expect(c.slowGet.with({ timeout: 50 })(600)).rejects.toBeInstanceOf(TimeoutError);
    expect(await c.add(1)).toBe(8);
    await c.kill();
  });

  it("drops a call whose caller gave up before its turn: it never runs", async () => {
    const c = await t.m.Counter.spawn(0);
    const busy = c.slowGet(2_000); // holds the mailbox
    await expect(c.add.with({ timeout: 50 })(100)).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const cancelled = c.add.with({ signal: ac.signal })(1_000);
    ac.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    expect(await busy).toBe(0);
    expect(await c.get()).toBe(0);
    await c.kill();
  });

  it("ends with its last handle: await using", async () => {
    let id = "";
    {
      await using c = await t.m.Counter.spawn(1);
      id = c.actorId;
      expect(await c.add(1)).toBe(2);
    }
    const stats = await t.cluster.runnerStats();
    expect(stats.flatMap((s) => s.actors ?? []).map((a) => a.id)).not.toContain(id);
  });

  it("passes a handle to a remote function, which calls the actor", async () => {
    const c = await t.m.Counter.spawn(0);
    expect(await t.m.bump(c, 5)).toBe(5);
    expect(await c.get()).toBe(5);
    await c.kill();
  });
});
