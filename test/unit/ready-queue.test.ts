import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReadyQueue } from "../../src/driver/calls/ready-queue.ts";
import { makeCall, names } from "./fake-call.ts";

function call(name: string, height: number) {
  const c = makeCall(name).call;
  c.height = height;
  return c;
}

function popAll(q: ReadyQueue): string[] {
  const out: string[] = [];
  for (let c = q.pop(); c !== undefined; c = q.pop()) out.push(c.exportName);
  return out;
}

// The calls ready to run, the critical path first: the call with the longest chain of
// calls waiting on it, then the oldest.
describe("ready queue", () => {
  it("gives the highest call first, the oldest among equals", () => {
    const q = new ReadyQueue();
    for (const [n, h] of [["a", 0], ["b", 3], ["c", 1], ["d", 3], ["e", 0], ["f", 7]] as const) q.push(call(n, h));
    expect(q.peek()?.exportName).toBe("f");
    expect(q.size).toBe(6);
    expect(popAll(q)).toEqual(["f", "b", "d", "c", "a", "e"]);
    expect(q.size).toBe(0);
  });

  it("orders any pushes by height, then age (a stable sort)", () => {
    fc.assert(fc.property(fc.array(fc.nat(5), { maxLength: 200 }), (heights) => {
      const q = new ReadyQueue();
      const calls = heights.map((h, i) => call(`c${i}`, h));
      for (const c of calls) q.push(c);
      const expected = calls.map((c, i) => ({ c, i })).sort((x, y) => y.c.height - x.c.height || x.i - y.i).map((x) => x.c.exportName);
      expect(popAll(q)).toEqual(expected);
    }));
  });

  it("keeps age order between pops and later pushes", () => {
    const q = new ReadyQueue();
    q.push(call("old1", 2));
    q.push(call("old2", 2));
    expect(q.pop()?.exportName).toBe("old1");
    q.push(call("new", 2));
    q.push(call("higher", 3));
    expect(popAll(q)).toEqual(["higher", "old2", "new"]);
  });

  it("takes a call's rank when it is pushed: a later change does not reorder it", () => {
    const q = new ReadyQueue();
    const a = call("a", 1);
    q.push(a);
    q.push(call("b", 2));
    a.height = 9;
    expect(popAll(q)).toEqual(["b", "a"]);
  });

  it("drains everything at once and is empty after", () => {
    const q = new ReadyQueue();
    const calls = [call("a", 1), call("b", 5), call("c", 0)];
    for (const c of calls) q.push(c);
    expect(names(q.drain()).sort()).toEqual(["a", "b", "c"]);
    expect(q.size).toBe(0);
    expect(q.peek()).toBeUndefined();
    expect(q.pop()).toBeUndefined();
  });
});
