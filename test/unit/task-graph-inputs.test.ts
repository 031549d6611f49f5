import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.ts";
import { errorOf, names } from "./fake-call.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";

const failure = (): RemoteError => new RemoteError({ message: "boom", remoteName: "Error", remoteStack: "", functionName: "make", runner: "r" });

// A call reading objects starts as soon as its own inputs exist (no level barriers), and
// fails with an input's own error if that input failed.
describe("task graph: inputs", () => {
  it("holds a call until its input is made, then sends it where the input was kept", async () => {
    const c = new FakeCluster({ threads: 4 }, { threads: 1 });
    const [wide, narrow] = c.runners;
    wide!.draining = true; // the input is made on the narrow runner
    const input = c.ref("make");
    await nextTurn();
    wide!.draining = false;
    const reader = c.call("read", { deps: [input.entry] });
    await nextTurn();
    expect(names(narrow!.sent)).toEqual(["make"]);
    expect(reader.call.attempts).toBe(0);
    narrow!.keep(input.producer, 50_000_000);
    await nextTurn();
    expect(names(narrow!.sent)).toEqual(["make", "read"]);
    expect(names(wide!.sent)).toEqual([]);
  });

  it("waits for every input, in any order of completion", async () => {
    const c = new FakeCluster({ threads: 4, window: 8 });
    const [a] = c.runners;
    const x = c.ref("x");
    const y = c.ref("y");
    c.call("read", { deps: [x.entry, y.entry] });
    await nextTurn();
    a!.keep(y.producer, 10);
    await nextTurn();
    expect(names(a!.sent)).toEqual(["x", "y"]);
    a!.keep(x.producer, 10);
    await nextTurn();
    expect(names(a!.sent)).toEqual(["x", "y", "read"]);
  });

  it("fails a call whose input failed, with that input's error, without sending it", async () => {
    const c = new FakeCluster({});
    const [a] = c.runners;
    const input = c.ref("make");
    const reader = c.call("read", { deps: [input.entry] });
    c.call("later");
    await nextTurn();
    const error = failure();
    a!.reject(input.producer, error);
    await nextTurn();
    expect(errorOf(reader)).toBe(error);
    expect(names(a!.sent)).toEqual(["make", "later"]);
    // A call made after the failure gets it too.
    const another = c.call("another", { deps: [input.entry] });
    expect(errorOf(another)).toBe(error);
  });

  it("keeps an input released meanwhile until the calls reading it are done", async () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    const input = c.put(a!, 100);
    const reader = c.call("read", { deps: [input.entry] });
    await nextTurn();
    input.ref.release();
    expect(a!.freed).toEqual([]);
    a!.resolve(reader.call, 1);
    expect(a!.freed).toEqual([input.entry.id]);
  });

  // A waiting call is its input's waiter itself (no closure of its own): one that settled
  // meanwhile (cancelled, timed out) must be skipped when the input is made, and unpin.
  it("a call that settled while it waited is not sent when its input is made, and lets the input go", async () => {
    const c = new FakeCluster({ threads: 1, window: 4 });
    const [a] = c.runners;
    const input = c.ref("make");
    const reader = c.call("read", { deps: [input.entry] });
    await nextTurn();
    expect(input.entry.pins).toBe(1);
    reader.call.reject(new Error("gave up")); // as a timeout does
    expect(input.entry.pins).toBe(0);
    input.ref.release();
    a!.keep(input.producer, 10);
    await nextTurn();
    expect(names(a!.sent)).toEqual(["make"]);
    expect(errorOf(reader).message).toBe("gave up");
    expect(input.entry.state).toBe("freed");
  });

  it("a failure runs down a chain of 20,000 waiting calls without deep recursion, failing each", { timeout: 60_000 }, async () => {
    const c = new FakeCluster({ threads: 1, window: 4 });
    const [a] = c.runners;
    const first = c.ref("first");
    let last = first;
    const chain = [first];
    for (let i = 0; i < 20_000; i++) chain.push((last = c.ref(`step${i}`, [last.entry])));
    await nextTurn();
    const error = failure();
    a!.reject(first.producer, error);
    await nextTurn();
    expect(chain.filter((o) => o.entry.state !== "failed").length).toBe(0);
    expect(last.entry.error).toBe(error);
    expect(names(a!.sent)).toEqual(["first"]);
  });
});
