import { describe, expect, it } from "vitest";
import type { Remote } from "../src/index.ts";
import { fixture, testCluster } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

// A driver whose event loop is blocked by its own work reads no heartbeats; neither side
// may take that silence for a dead peer.
describe("a busy driver", () => {
  it("keeps its runners and its in-flight calls through 2.5 s of blocked event loop", async () => {
    await using cluster = await testCluster(1);
    const m: Remote<M> = await cluster.import<M>(fixture("math.ts"));
    const inFlight = m.sleep(100);
    const until = performance.now() + 2500; // > the 1.5 s heartbeat timeout
    while (performance.now() < until) {
      // synchronous work: no timers, no I/O
    }
    expect(await inFlight).toBe(100);
    expect(await m.add(1, 1)).toBe(2);
    expect(cluster.runners.every((r) => r.alive)).toBe(true);
  });
});
