import { describe, expect, it } from "vitest";
import { makeCall } from "./fake-call.ts";

// A PendingCall keeps its rarely used fields in an object made on first write (a burst holds
// every call at once): read before any write they have their defaults, and each holds what
// was written, independently of the others and of other calls.
describe("a call's rarely used fields", () => {
  it("read as their defaults on a plain call", () => {
    const { call } = makeCall("f");
    expect([call.keep, call.height, call.notStarted, call.lostSends, call.unstartedSends, call.avoid, call.lineageDepth]).toEqual([undefined, 0, false, 0, 0, undefined, 0]);
    expect([call.fetchedFrom, call.rank, call.preferLane, call.goroutine, call.actorId, call.inlined, call.whenReady]).toEqual([undefined, undefined, undefined, false, undefined, undefined, undefined]);
    expect([call.concurrent, call.outsideWindow, call.usesObjects, call.wireName]).toEqual([false, false, false, "f"]);
  });

  it("hold what is written, each on its own call", () => {
    const a = makeCall("f").call;
    const b = makeCall("f").call;
    a.height = 3;
    a.lostSends++;
    a.unstartedSends += 2;
    a.notStarted = true;
    a.goroutine = true;
    a.actorId = "actor-1";
    a.preferLane = 4000;
    a.rank = 2;
    expect([a.height, a.lostSends, a.unstartedSends, a.notStarted, a.goroutine, a.actorId, a.preferLane, a.rank]).toEqual([3, 1, 2, true, true, "actor-1", 4000, 2]);
    expect([a.concurrent, a.outsideWindow]).toEqual([true, true]);
    expect([b.height, b.lostSends, b.notStarted, b.goroutine, b.actorId, b.rank]).toEqual([0, 0, false, false, undefined, undefined]);
    a.notStarted = false;
    a.actorId = undefined;
    expect([a.notStarted, a.actorId]).toEqual([false, undefined]);
  });

  it("run the settle cleanups once, either way", () => {
    const ok = makeCall("f");
    const runs: string[] = [];
    ok.call.onSettle(() => runs.push("ok 1"));
    ok.call.onSettle(() => runs.push("ok 2"));
    ok.call.resolve(1);
    ok.call.resolve(2);
    const failed = makeCall("g");
    failed.call.onSettle(() => runs.push("failed"));
    failed.call.reject(new Error("no"));
    expect(runs).toEqual(["ok 1", "ok 2", "failed"]);
    expect(ok.settled).toEqual({ state: "resolved", value: 1 });
    expect(failed.settled.state).toBe("rejected");
  });
});
