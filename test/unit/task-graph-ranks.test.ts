import { describe, expect, it } from "vitest";
import { names } from "./fake-call.ts";
import { FakeCluster, nextTurn, type MadeObject } from "./fake-cluster.ts";

/** A chain of `n` calls, each reading the result of the one before. */
function chain(c: FakeCluster, prefix: string, n: number): MadeObject[] {
  const objects: MadeObject[] = [];
  for (let i = 0; i < n; i++) objects.push(c.ref(`${prefix}${i}`, i === 0 ? [] : [objects[i - 1]!.entry]));
  return objects;
}

// A call's rank is the longest chain of calls waiting on its result: the ready queue runs
// the highest first, so the critical path never waits behind short branches.
describe("task graph: ranks", () => {
  it("raises the rank of every unfinished call up a chain as calls are added", () => {
    const c = new FakeCluster({ window: 0 });
    const objects = chain(c, "s", 4);
    c.call("read", { deps: [objects.at(-1)!.entry] });
    expect(objects.map((o) => o.producer.height)).toEqual([4, 3, 2, 1]);
  });

  it("sends the head of the longest chain before heads of shorter ones made earlier", async () => {
    const c = new FakeCluster({ threads: 1, window: 0 });
    const [a] = c.runners;
    chain(c, "short", 2);
    chain(c, "long", 6);
    chain(c, "mid", 3);
    await nextTurn();
    expect(names(a!.sent)).toEqual([]);
    a!.window = 1;
    c.scheduler.slotFreed(a!);
    expect(names(a!.sent)).toEqual(["long0"]);
    a!.window = 3;
    c.scheduler.slotFreed(a!);
    expect(names(a!.sent)).toEqual(["long0", "mid0", "short0"]);
  });

  it("ranks shared inputs by their longest chain of waiting calls, graph after graph", () => {
    // A diamond and a tail: a → b, a → c, b → d, c → d, d → e. The walk keeps its stack
    // between calls (task-graph.ts): a second graph gets ranks as if it were the first.
    for (let round = 0; round < 2; round++) {
      const c = new FakeCluster({ window: 0 });
      const a = c.ref("a", []);
      const b = c.ref("b", [a.entry]);
      const cc = c.ref("c", [a.entry]);
      const d = c.ref("d", [b.entry, cc.entry]);
      c.ref("e", [d.entry]);
      expect([a, b, cc, d].map((o) => o.producer.height)).toEqual([3, 2, 2, 1]);
    }
  });

  it("does not raise a call that has finished", async () => {
    const c = new FakeCluster({});
    const [a] = c.runners;
    const [o] = chain(c, "s", 1);
    await nextTurn();
    a!.keep(o!.producer, 10);
    c.call("read", { deps: [o!.entry] });
    expect(o!.producer.height).toBe(0);
  });

  it("carries a rank only a bounded way up a long chain, still ordering it", () => {
    const c = new FakeCluster({ window: 0 });
    const n = 500;
    const heights = chain(c, "s", n).map((o) => o.producer.height);
    for (let i = 1; i < n; i++) expect(heights[i]).toBeLessThanOrEqual(heights[i - 1]!);
    // Far enough to put the head of the chain first; exact ranks would cost O(depth) per call.
    expect(heights[0]).toBeGreaterThanOrEqual(64);
    expect(heights[0]).toBeLessThan(n - 1);
  });
});
