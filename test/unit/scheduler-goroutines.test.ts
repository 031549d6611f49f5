import { describe, expect, it } from "vitest";
import { RunnerLostError } from "../../src/errors.ts";
import { errorOf, makeCall, names } from "./fake-call.ts";
import { FakeCluster } from "./fake-cluster.ts";

// A goroutine may block on channels for as long as it likes: if it waited for a window,
// the calls it waits for could queue behind it. It goes at once, to the least loaded runner.
describe("scheduler: goroutines", () => {
  it("go at once although every window is full, ahead of the queued calls", () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    c.call("busy");
    c.call("queued");
    c.call("g", { goroutine: true });
    expect(names(a!.sent)).toEqual(["busy", "g"]);
    expect(c.scheduler.queued).toBe(1);
  });

  it("go to the runner with the fewest calls in flight per thread", () => {
    const c = new FakeCluster({ threads: 1, window: 10 }, { threads: 4, window: 10 });
    const [one, four] = c.runners;
    for (const r of [one!, four!]) for (let i = 0; i < 2; i++) r.send(makeCall("x", { goroutine: true }).call);
    // 2 of 1 thread against 2 of 4: the wide runner is less loaded although as busy by count.
    c.call("g", { goroutine: true });
    expect(four!.sent.at(-1)?.exportName).toBe("g");
    expect(one!.inFlight).toBe(2);
  });

  it("leave the windows' room to plain calls", () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    c.call("g", { goroutine: true });
    c.call("plain");
    expect(names(a!.sent)).toEqual(["g", "plain"]);
  });

  it("skip stopping runners, and fail when none is usable", () => {
    const c = new FakeCluster({ threads: 1 }, { threads: 1 });
    const [a, b] = c.runners;
    a!.draining = true;
    c.call("g1", { goroutine: true });
    expect(names(b!.sent)).toEqual(["g1"]);
    b!.draining = true;
    const g2 = c.call("g2", { goroutine: true });
    expect(errorOf(g2)).toBeInstanceOf(RunnerLostError);
  });
});
