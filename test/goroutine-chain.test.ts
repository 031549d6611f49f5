import { describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type G = typeof import("./fixtures/goroutines.ts");

// Go's test/chan/goroutines.go: a chain of 10,000 goroutines, each taking a value from the
// channel on its left and passing it on, plus one, to the channel on its right. All of them
// are started before the first value moves, so all are live (and all but one blocked) at
// once: it once hung at a chain of 256 on two runners (a thread pool ran 64 per thread).

describe("Go's goroutines test: a chain of 10,000 goroutines on 2 runners", () => {
  const t = useCluster<{ m: G }>({ runners: 2, threads: 1 }, { m: "goroutines.ts" });

  it("passes 0 from one end to the other, adding one per goroutine: 10,000 comes out", async () => {
    const n = 10_000;
    const first = t.cluster.chan<number>();
    let left = first;
    const links = [];
    for (let i = 0; i < n; i++) {
      const right = t.cluster.chan<number>();
      links.push(t.m.link.go(left, right));
      left = right;
    }
    await first.send(0);
    expect(await left.recv()).toEqual({ value: n, done: false });
    await Promise.all(links.map((g) => g.result));
    // Both runners took a share (the chain is not one runner's alone).
    const stats = await t.cluster.runnerStats();
    expect(stats.every((s) => s.calls >= 1000)).toBe(true);
    expect(stats.reduce((sum, s) => sum + s.goroutines, 0)).toBe(0);
  }, 180_000);
});
