import { describe, expect, it } from "vitest";
import { makeCall, names } from "./fake-call.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";

const MB = 1_000_000;

// Calls with object inputs go where they could start soonest: time until a thread is free
// there, plus time to bring the inputs the runner lacks (a round trip and the bytes).
describe("scheduler: placement of calls with object inputs", () => {
  it("goes where its big input is, though another runner has more free threads", async () => {
    const c = new FakeCluster({ threads: 8 }, { threads: 1 });
    const [wide, holder] = c.runners;
    const big = c.put(holder!, 100 * MB);
    c.call("reads", { deps: [big.entry] });
    await nextTurn();
    expect(names(holder!.sent)).toEqual(["reads"]);
    expect(names(wide!.sent)).toEqual([]);
  });

  it("moves a small input to an idle runner rather than wait behind slow calls", async () => {
    const c = new FakeCluster({ threads: 1, window: 10 }, { threads: 1, window: 10, execMicros: 10_000 });
    const [idle, holder] = c.runners;
    const small = c.put(holder!, MB); // ~1.2 ms to fetch
    for (let i = 0; i < 3; i++) holder!.send(makeCall("slow").call); // ~30 ms of work ahead
    c.call("reads", { deps: [small.entry] });
    await nextTurn();
    expect(names(idle!.sent)).toEqual(["reads"]);
  });

  it("waits behind slow calls rather than move an input that takes longer to bring", async () => {
    const c = new FakeCluster({ threads: 1, window: 10 }, { threads: 1, window: 10, execMicros: 10_000 });
    const [idle, holder] = c.runners;
    const big = c.put(holder!, 100 * MB); // ~100 ms to fetch
    for (let i = 0; i < 3; i++) holder!.send(makeCall("slow").call);
    c.call("reads", { deps: [big.entry] });
    await nextTurn();
    expect(holder!.sent.at(-1)?.exportName).toBe("reads");
    expect(names(idle!.sent)).toEqual([]);
  });

  it("goes where most of its input bytes are when they are spread out", async () => {
    const c = new FakeCluster({ threads: 1 }, { threads: 1 }, { threads: 1 });
    const [a, b, idle] = c.runners;
    const x = c.put(a!, 5 * MB);
    const y = c.put(b!, 50 * MB);
    c.call("reads", { deps: [x.entry, y.entry] });
    await nextTurn();
    expect(names(b!.sent)).toEqual(["reads"]);
    expect(a!.sent.length + idle!.sent.length).toBe(0);
  });

  it("ranks calls made ready together before sending any: the longest chain first", async () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    const input = c.put(a!, 10);
    const low = c.call("low", { deps: [input.entry] });
    const high = c.call("high", { deps: [input.entry] });
    high.call.height = 5; // as if 5 calls waited on it
    low.call.height = 1;
    await nextTurn();
    expect(names(a!.sent)).toEqual(["high"]);
  });

  it("goes before plain calls that were queued first", async () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    const input = c.put(a!, 10);
    c.call("busy");
    c.call("plain");
    c.call("graph", { deps: [input.entry] });
    await nextTurn();
    a!.resolve(a!.running[0]!, 1);
    expect(names(a!.sent)).toEqual(["busy", "graph"]);
  });
});
