import { describe, expect, it } from "vitest";
import type { PendingCall } from "../../src/driver/calls/call.ts";
import { ObjectOps } from "../../src/driver/objects/object-ops.ts";
import { ObjectTable } from "../../src/driver/objects/object-table.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";
import { FakeRunner } from "./fake-runner.ts";

const SIZES = [10, 30, 100, 300, 1000];
/** Heap keys compared per placed call, at most this many times log2(n) (measured: about 2.5). */
const C = 4;
/** Reads of runners' room and load per placed call, at most this many times log2(n) (a scan read n or more). */
const LOOKS = 12;

/** Deterministic picks, so a count is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

/** A cluster of n runners half busy, and a way to finish a random call in flight. */
function halfBusy(n: number): { c: FakeCluster; inFlight: PendingCall[]; finishOne: () => void } {
  const c = new FakeCluster(...Array.from({ length: n }, () => ({ threads: 4, window: 8 })));
  const rnd = lcg(7);
  const inFlight = Array.from({ length: n * 2 }, () => c.call("warm").call);
  const finishOne = (): void => {
    const k = Math.floor(rnd() * inFlight.length);
    const call = inFlight[k]!;
    inFlight[k] = inFlight[inFlight.length - 1]!;
    inFlight.pop();
    (call.link as FakeRunner).resolve(call, null);
  };
  return { c, inFlight, finishOne };
}

// What placement costs, counted rather than timed: keys compared in the scheduler's heaps
// per call placed (a scan looked at all n runners), and the rounds of a broadcast.
describe("placement cost grows with log2 of the runners", () => {
  it.each(SIZES)("plain calls on %i runners: O(log n) comparisons and runners looked at each", (n) => {
    const { c, inFlight, finishOne } = halfBusy(n);
    const before = c.scheduler.comparisons;
    const looked = FakeRunner.looks;
    const cycles = 2000;
    for (let i = 0; i < cycles; i++) {
      const x = c.call("p");
      expect(x.call.link).toBeDefined();
      inFlight.push(x.call);
      finishOne();
    }
    const perCall = (c.scheduler.comparisons - before) / cycles;
    expect(perCall).toBeLessThanOrEqual(C * Math.log2(n));
    expect((FakeRunner.looks - looked) / cycles).toBeLessThanOrEqual(LOOKS * Math.log2(n));
  });

  it.each(SIZES)("calls with two object inputs on %i runners: O(log n) comparisons and runners looked at each", async (n) => {
    const { c, inFlight, finishOne } = halfBusy(n);
    const rnd = lcg(11);
    const objects = Array.from({ length: 50 }, () => c.put(c.runners[Math.floor(rnd() * n)]!, 1000));
    const input = (): (typeof objects)[number]["entry"] => objects[Math.floor(rnd() * objects.length)]!.entry;
    let before = 0;
    let looked = 0;
    const cycles = 500;
    // The first calls settle the debt plain calls left (keys only the graph's heap reads, gone stale).
    for (let i = -cycles; i < cycles; i++) {
      if (i === 0) [before, looked] = [c.scheduler.comparisons, FakeRunner.looks];
      const x = c.call("g", { deps: [input(), input()] });
      await nextTurn();
      expect(x.call.link).toBeDefined();
      inFlight.push(x.call);
      finishOne();
    }
    const perCall = (c.scheduler.comparisons - before) / cycles;
    expect(perCall).toBeLessThanOrEqual(C * Math.log2(n));
    expect((FakeRunner.looks - looked) / cycles).toBeLessThanOrEqual(LOOKS * Math.log2(n));
  });

  it.each(SIZES)("goroutines on %i runners: O(log n) comparisons and runners looked at each", (n) => {
    const { c, inFlight, finishOne } = halfBusy(n);
    let before = 0;
    let looked = 0;
    const cycles = 1000;
    for (let i = -cycles; i < cycles; i++) {
      if (i === 0) [before, looked] = [c.scheduler.comparisons, FakeRunner.looks];
      inFlight.push(c.call("g", { goroutine: true }).call);
      finishOne();
    }
    expect((c.scheduler.comparisons - before) / cycles).toBeLessThanOrEqual(C * Math.log2(n));
    expect((FakeRunner.looks - looked) / cycles).toBeLessThanOrEqual(LOOKS * Math.log2(n));
  });

  it.each([1, 2, 3, 10, 30, 100, 300, 1000])("broadcast to %i runners: the put, then ceil(log2 n) rounds of copies", async (n) => {
    const runners = Array.from({ length: n }, () => new FakeRunner());
    let active = 0;
    let rounds = 0;
    for (const r of runners) {
      const pull = r.pull.bind(r);
      // A round's copies start together and all end before the next round: count the starts from idle.
      r.pull = (id, from) => {
        if (active++ === 0) rounds++;
        return pull(id, from).finally(() => active--);
      };
    }
    const ops = new ObjectOps(new ObjectTable(), () => Promise.resolve(), () => runners, () => Promise.resolve());
    const ref = await ops.broadcast("value");
    expect(runners.filter((r) => r.stored.has(ref.id))).toHaveLength(n);
    expect(1 + rounds).toBe(Math.ceil(Math.log2(n)) + 1);
  });
});
