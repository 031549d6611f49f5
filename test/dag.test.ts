import { describe, expect, it } from "vitest";
import { local, type Ref } from "../src/index.ts";
import { fixture, rejectionOf } from "./helpers.ts";

type Objects = typeof import("./fixtures/objects.ts");
type Chans = typeof import("./fixtures/chans.ts");

describe("task graphs of f.ref() calls", () => {
  it("a diamond: two calls read one input, a third joins them", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const a = await cluster.put(1);
    const b = m.add.ref(a, 1);
    const c = m.add.ref(a, 2);
    expect(await m.add(b, c)).toBe(5);
    expect(await cluster.get(b)).toBe(2);
  });

  it("fan-in: one call given 60 pending Refs runs once all are made", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const parts = Array.from({ length: 60 }, (_, i) => m.add.ref(i, 1));
    expect(await m.total(parts)).toBe((60 * 61) / 2);
  });

  it("a 300-call chain, built before any of it runs, resolves in order", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    let r: Ref<number> = m.add.ref(0, 1);
    for (let i = 1; i < 300; i++) r = m.add.ref(r, 1);
    expect(await cluster.get(r)).toBe(300);
  });

  it("a failure at the root of a 20,000-call chain reaches the end of it (no stack overflow)", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    let r = m.fails.ref("root") as unknown as Ref<number>;
    for (let i = 0; i < 20_000; i++) r = m.add.ref(r, 1);
    const err = await rejectionOf(cluster.get(r));
    expect((err as Error).message).toMatch(/root/);
    expect(await m.add(1, 1)).toBe(2); // the link survived
  });

  it("a call waits for its own inputs only: independent calls finish while it waits", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const c = await cluster.import<Chans>(fixture("chans.ts"));
    // The input is made once the test sends on a channel, not after some time: the
    // independent calls must finish first however slowly this machine runs them. (A call
    // holding a channel shares its thread, so the calls below are not stuck behind it.)
    const gate = cluster.chan<number>();
    const gated = c.recvOne.ref(gate) as Ref<number>;
    let dependentDone = false;
    const dependent = m.add(m.add.ref(1, 1), gated).then((v) => {
      dependentDone = true;
      return v;
    });
    const quick = await Promise.all(Array.from({ length: 20 }, (_, i) => m.add(i, 1)));
    expect(quick[19]).toBe(20);
    expect(dependentDone).toBe(false);
    await gate.send(10);
    expect(await dependent).toBe(12);
  });

  it("of the calls ready together, the one with the longest chain behind it runs first", async () => {
    // One thread: the order the runner runs calls in is the order they were sent.
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await m.runOrder("warm-up");
    const leaves = Array.from({ length: 6 }, (_, i) => m.runOrder.ref(`leaf ${i}`));
    const head = m.runOrder.ref("head"); // created last, but 5 calls wait on it
    let tail: Ref<number> = head;
    for (let i = 0; i < 5; i++) tail = m.runOrder.ref(`chain ${i}`, tail);
    const [h, ...ls] = await Promise.all([cluster.get(head), ...leaves.map((l) => cluster.get(l))]);
    expect(h).toBeLessThan(Math.min(...ls));
    await cluster.get(tail);
  });

  it("graph calls whose inputs are small go straight to the threads (lanes); big kept results still land in the store", async () => {
    await using cluster = await local({ runners: 1, threads: 2 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await Promise.all(Array.from({ length: 4 }, (_, i) => m.add(i, 1))); // the module is warm on both threads
    // The threads' lanes connect in the background; the counts below assume both are up.
    while (cluster.runners[0]!.lanes.length < 2) await m.add(0, 0);
    const before = (await cluster.runnerStats())[0]!;
    let r: Ref<number> = m.add.ref(0, 1);
    for (let i = 1; i < 50; i++) r = m.add.ref(r, 1);
    const big = m.fill.ref(100_000, 2); // 800 KB: kept on the runner, not sent back
    expect(await cluster.get(r)).toBe(50);
    expect(await m.sum(big)).toBe(200_000);
    const after = (await cluster.runnerStats())[0]!;
    expect(after.calls - before.calls).toBe(52);
    // Only the call reading the stored object went through the runner's main thread.
    expect(after.batchedCalls - before.batchedCalls).toBe(1);
    expect(after.objects).toBe(1);
    big.release();
  });

  it("a call goes to the runner that holds its big input; the data never passes through the driver twice", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await Promise.all([m.where(), m.where()]);
    const big = await cluster.put(new Float64Array(1_000_000).fill(1)); // 8 MB
    const holder = (await cluster.runnerStats()).find((s) => s.objects === 1)!;
    const holderPid = cluster.runners.find((r) => r.address === holder.address)!.pid;
    for (let i = 0; i < 5; i++) expect(await m.where(big)).toBe(holderPid);
    // A task made near its input keeps its 8 MB result there too; its reader follows it.
    const made = m.fill.ref(1_000_000, 1);
    const sums = await Promise.all([m.sum(made), m.sum(made)]);
    expect(sums).toEqual([1_000_000, 1_000_000]);
    const sent = cluster.runners.reduce((s, r) => s + r.bytesSent, 0);
    expect(sent).toBeLessThan(8_000_000 + 1_000_000); // B went out once; the result never came in
    big.release();
    made.release();
  });

  it("under many concurrent calls an object crosses to each runner at most once, runner to runner", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const size = 2_000_000;
    const big = await cluster.put(new Float64Array(size / 8).fill(1));
    const stats0 = await cluster.runnerStats();
    const holder = stats0.find((s) => s.objects === 1)!.address;
    const sentBefore = cluster.runners.map((r) => r.bytesSent);
    // 30 ms calls, 16 at once on two single-thread runners: both runners take some.
    const pids = await Promise.all(Array.from({ length: 16 }, () => m.slowWhere(30, big)));
    expect(new Set(pids).size).toBe(2);
    const stats = await cluster.runnerStats();
    const other = stats.find((s) => s.address !== holder)!;
    expect(other.objectFetches).toBe(1);
    expect(other.objectBytesFetched).toBeGreaterThanOrEqual(size);
    expect(other.objectBytesFetched).toBeLessThan(size + 1024);
    expect(stats.find((s) => s.address === holder)!.objectsServed).toBe(1);
    // The driver sent the other runner calls, not the object.
    const i = cluster.runners.findIndex((r) => r.address === other.address);
    expect(cluster.runners[i]!.bytesSent - sentBefore[i]!).toBeLessThan(64 * 1024);
  });
});
