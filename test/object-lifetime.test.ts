import { describe, expect, it } from "vitest";
import { Cluster, local, ObjectStoreFullError, type Remote } from "../src/index.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { collectUntil, fixture, rejectionOf } from "./helpers.ts";

type Objects = typeof import("./fixtures/objects.ts");

const storedBytes = async (c: Cluster): Promise<number> => (await c.runnerStats()).reduce((s, r) => s + r.objectBytes, 0);
const storedObjects = async (c: Cluster): Promise<number> => (await c.runnerStats()).reduce((s, r) => s + r.objects, 0);

describe("object lifetime", () => {
  it("release() frees the object on every runner holding a copy (runner stats show it)", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const put = await cluster.put(new Float64Array(500_000)); // 4 MB
    const made = m.fill.ref(1_000_000, 1); // 8 MB, kept where it ran
    // Copies on both runners: concurrent slow readers spread over the two.
    await Promise.all(Array.from({ length: 6 }, () => m.slowWhere(20, [put, made])));
    expect(await storedBytes(cluster)).toBeGreaterThan(12_000_000);
    expect(cluster.stats.objects).toBe(2);
    put.release();
    made.release();
    // Free goes out before the stats request on each connection: no waiting needed.
    expect(await storedBytes(cluster)).toBe(0);
    expect(cluster.stats.objects).toBe(0);
  });

  it("`using` releases at the end of the block", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    {
      using ref = await cluster.put(new Uint8Array(100_000));
      expect(await cluster.get(ref)).toHaveLength(100_000);
      expect(await storedObjects(cluster)).toBe(1);
    }
    expect(await storedObjects(cluster)).toBe(0);
  });

  it("a Ref released while a call still reads it is freed after that call, which succeeds", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const ref = await cluster.put(new Float64Array([1, 2, 3]));
    const slow = m.slowWhere.ref(100);
    const pending = m.total([ref, slow]);
    ref.release(); // before the call could even start: it waits for `slow`
    expect(await pending).toBeGreaterThan(6);
    slow.release();
    expect(await storedObjects(cluster)).toBe(0);
  });

  // An f.ref() object keeps its task for lineage: the task must not hold the Ref either.
  const dropped = [
    ["a put", async (c: Cluster) => ({ ref: await c.put(new Float64Array(100_000)), sum: 0 })],
    ["an f.ref() result", async (_c: Cluster, m: Remote<Objects>) => ({ ref: m.fill.ref(100_000, 2), sum: 200_000 })],
  ] as const;
  it.each(dropped)("a Ref the program drops (%s) is freed on the runners after garbage collection", async (_kind, make) => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await (async () => {
      const { ref, sum } = await make(cluster, m);
      expect(await m.sum(ref)).toBe(sum);
    })();
    expect(await storedObjects(cluster)).toBe(1);
    // FinalizationRegistry callbacks run some time after a collection: collect until it has.
    await collectUntil(() => cluster.stats.objects === 0);
    expect(cluster.stats.objects).toBe(0);
    expect(await storedObjects(cluster)).toBe(0);
  });

  it("a released Ref is not kept alive by the driver (a long-running driver does not grow)", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const refs: WeakRef<object>[] = [];
    // In a function of its own, so that no suspended frame of this test still holds a Ref.
    const useAndRelease = async (i: number): Promise<void> => {
      const made = m.fill.ref(100_000, i);
      const put = await cluster.put(new Float64Array(10_000));
      expect(await m.sum(made)).toBe(100_000 * i);
      refs.push(new WeakRef(made), new WeakRef(put));
      made.release();
      put.release();
    };
    for (let i = 0; i < 20; i++) await useAndRelease(i);
    expect(await storedObjects(cluster)).toBe(0);
    const alive = (): number[] => refs.map((r, i) => (r.deref() === undefined ? -1 : i)).filter((i) => i >= 0);
    await collectUntil(() => alive().length === 0);
    expect(alive()).toEqual([]);
  });

  it("a driver that disconnects has its objects freed on the runners; other drivers' stay", async () => {
    const runners = await startLocalRunners({ runners: 2, threads: 1 });
    try {
      const open = (): Promise<Cluster> => Cluster.create({ runners: runners.addresses, token: runners.token });
      await using keeper = await open();
      const kept = await keeper.put(new Float64Array(1000));
      const leaving = await open();
      const m = await leaving.import<Objects>(fixture("objects.ts"));
      // Held in this scope: a dropped Ref could be collected, and freed, before the count.
      const put = await leaving.put(new Float64Array(200_000));
      const made = m.fill.ref(200_000, 1);
      await m.sum(made);
      expect(await storedObjects(keeper)).toBe(3);
      expect([put, made].map(String)).toHaveLength(2);
      await leaving.close();
      // The runners learn of the departure from their own sockets, each in its own time:
      // ask them (a round trip each, no timer) until the leaving driver's objects are gone.
      let left = await storedObjects(keeper);
      while (left > 1) left = await storedObjects(keeper);
      expect(left).toBe(1);
      expect(await keeper.get(kept)).toHaveLength(1000);
    } finally {
      await runners.stop();
    }
  });

  it("a runner's object memory budget is enforced: an object bigger than it fails with ObjectStoreFullError; over it, the store spills; nothing crashes", async () => {
    await using cluster = await local({ runners: 1, threads: 1, objectMemoryMiB: 1 });
    const m: Remote<Objects> = await cluster.import<Objects>(fixture("objects.ts"));
    const err = await rejectionOf(cluster.put(new Uint8Array(2 * 1024 * 1024)));
    expect(err).toBeInstanceOf(ObjectStoreFullError);
    expect((err as ObjectStoreFullError).budgetBytes).toBe(1024 * 1024);
    expect((err as Error).message).toContain("bigger than the whole budget");
    expect(cluster.stats.objects).toBe(0);
    const tooBig = m.fill.ref(200_000, 1); // 1.6 MB: a kept result bigger than the budget
    expect(await rejectionOf(cluster.get(tooBig))).toBeInstanceOf(ObjectStoreFullError);

    // Together over the budget, each within it: the older one spills to disk, and both read back.
    const small = await cluster.put(new Uint8Array(600_000).fill(7));
    const more = m.fill.ref(100_000, 1); // 800 KB more than fits beside `small`
    expect(await m.sum(more)).toBe(100_000);
    let [stats] = await cluster.runnerStats();
    expect(stats!.objectBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(stats!.objectBytesLimit).toBe(1024 * 1024);
    expect(stats!.objectsSpilled).toBe(1);
    expect((await cluster.get(small)).every((b) => b === 7)).toBe(true);
    [stats] = await cluster.runnerStats();
    expect(stats!.restores).toBe(1);
    expect(await m.add(1, 2)).toBe(3);
  });
});
