import { describe, expect, it } from "vitest";
import { local, type Chan, type Cluster } from "../src/index.ts";
import { fixture } from "./helpers.ts";

type G = typeof import("./fixtures/goroutines.ts");

// Go's program exits with goroutines still blocked; a cluster closing with goroutines blocked
// on its channels must not wait for them either. The runners (local() stops them on close)
// break the channel operations of a driver that left, so the goroutines end, and nothing of
// the runner waits out its drain grace for them.

/** Waits until `n` receivers are parked at the channel's home (the driver). */
async function parked(cluster: Cluster, ch: Chan<unknown>, n: number): Promise<void> {
  while ((cluster.stats.channels.find((c) => c.id === ch.id)?.waitingReceivers ?? 0) < n) await cluster.runnerStats();
}

/** "closed" if close() resolves before a 1 s timer fires, else "timer" (close is still awaited). */
async function closeWithin1s(cluster: Cluster): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("timer"), 1000)));
  const closing = cluster.close();
  const first = await Promise.race([closing.then(() => "closed"), late]);
  clearTimeout(timer);
  await closing;
  return first;
}

describe("close with goroutines blocked on channels", () => {
  it("returns within 1 s when the goroutines came over the runners' main links (module not warm yet)", async () => {
    const cluster = await local({ runners: 2, threads: 2 });
    cluster.on("error", () => {}); // the goroutines fail as their runners go: expected here
    const m = await cluster.import<G>(fixture("goroutines.ts"));
    const ch = cluster.chan<number>();
    // All at once: no result came back yet, so the runners are not warm and every one goes
    // the main link (the runner's executor).
    const gs = Array.from({ length: 200 }, () => m.blocked.go(ch));
    await parked(cluster, ch, gs.length);
    expect(await closeWithin1s(cluster)).toBe("closed");
  });

  it("returns within 1 s when the goroutines came over the threads' lanes", async () => {
    const cluster = await local({ runners: 2, threads: 2 });
    cluster.on("error", () => {});
    const m = await cluster.import<G>(fixture("goroutines.ts"));
    // Warm both runners (a finished call of the module on each), so goroutines take the lanes.
    const warmup = cluster.chan<number>(8);
    const done = [m.blocked(warmup), m.blocked(warmup), m.blocked(warmup), m.blocked(warmup)];
    await warmup.close();
    expect(await Promise.all(done)).toEqual(["closed", "closed", "closed", "closed"]);
    const ch = cluster.chan<number>();
    const gs = Array.from({ length: 200 }, () => m.blocked.go(ch));
    await parked(cluster, ch, gs.length);
    expect(await closeWithin1s(cluster)).toBe("closed");
  });
});
