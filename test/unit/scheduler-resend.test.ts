import { describe, expect, it } from "vitest";
import type { PendingCall } from "../../src/driver/calls/call.ts";
import { makeCall, names } from "./fake-call.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";
import type { FakeRunner } from "./fake-runner.ts";

// A call whose runner was lost is sent again ahead of calls not sent yet, and to another
// runner while one is live: a runner that lost a thread may be about to lose the rest.
describe("scheduler: calls sent again after a loss", () => {
  it("go before the calls waiting for their first send", async () => {
    const c = new FakeCluster({ threads: 1, window: 1 }, { threads: 1, window: 1 });
    const [a, b] = c.runners;
    c.call("lost");
    c.call("other");
    c.call("waiting");
    expect(names(a!.sent)).toEqual(["lost"]);
    a!.lose();
    await nextTurn();
    b!.resolve(b!.running[0]!, 1);
    expect(names(b!.sent)).toEqual(["other", "lost"]);
    b!.resolve(b!.running[0]!, 1);
    expect(names(b!.sent)).toEqual(["other", "lost", "waiting"]);
  });

  it("avoid the runner that lost them while another is live, even one with fewer free threads", async () => {
    const c = new FakeCluster({ threads: 8 }, { threads: 1 });
    const [wide, narrow] = c.runners;
    const f = c.call("f");
    expect(f.call.link).toBe(wide);
    wide!.dropCall(f.call);
    await nextTurn();
    expect(f.call.link).toBe(narrow);
    expect(f.call.attempts).toBe(2);
    expect(f.settled.state).toBe("pending");
  });

  it("wait for room elsewhere rather than go back to the runner that lost them", () => {
    const c = new FakeCluster({ threads: 4, window: 4 }, { threads: 1, window: 1 });
    const [wide, narrow] = c.runners;
    const blocker = makeCall("blocker").call;
    narrow!.send(blocker);
    const f = lostOn(wide!);
    c.scheduler.resubmit(f);
    expect(f.queued).toBe(true);
    expect(wide!.hasRoom).toBe(true);
    narrow!.resolve(blocker, 1);
    expect(f.link).toBe(narrow);
  });

  it("go back to the runner that lost them when it is the only one live", () => {
    const c = new FakeCluster({ threads: 2 }, { threads: 8 });
    const [only, stopping] = c.runners;
    stopping!.draining = true;
    const f = lostOn(only!);
    c.scheduler.resubmit(f);
    expect(f.link).toBe(only);
  });

  it("keep their order among themselves", () => {
    const c = new FakeCluster({ threads: 1, window: 1 }, { threads: 1, window: 1 });
    const [a, b] = c.runners;
    const blocker = makeCall("blocker").call;
    b!.send(blocker);
    const lost = ["r1", "r2", "r3"].map((n) => lostOn(a!, n));
    for (const f of lost) c.scheduler.resubmit(f);
    for (let i = 0; i < 3; i++) b!.resolve(b!.running[0]!, 1);
    expect(names(b!.sent)).toEqual(["blocker", "r1", "r2", "r3"]);
  });
});

/** A call as the retry policy hands it back: sent once, lost on `runner`. */
function lostOn(runner: FakeRunner, name = "f"): PendingCall {
  const f = makeCall(name).call;
  f.attempts = 1;
  f.avoid = runner;
  return f;
}
