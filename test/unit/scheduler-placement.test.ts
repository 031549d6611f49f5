import { describe, expect, it } from "vitest";
import { names } from "./fake-call.ts";
import { FakeCluster } from "./fake-cluster.ts";

// Plain calls (no object inputs) go to the runner with the most free threads among those
// whose window has room: the decision itself, one call at a time.
describe("scheduler: placement of plain calls", () => {
  it("sends a call to the runner with the most free threads", () => {
    const c = new FakeCluster({ threads: 1 }, { threads: 4 }, { threads: 2 });
    const [one, four, two] = c.runners;
    c.call("a");
    expect(four!.sent.length).toBe(1);
    expect(one!.sent.length + two!.sent.length).toBe(0);
  });

  it("fills every thread before any runner gets a second call per thread", () => {
    const c = new FakeCluster({ threads: 1, window: 100 }, { threads: 3, window: 100 }, { threads: 2, window: 100 });
    for (let i = 0; i < 6; i++) c.call(`c${i}`);
    expect(c.runners.map((r) => r.inFlight)).toEqual([1, 3, 2]);
  });

  it("counts free threads, not calls sent: a runner that finished its calls is preferred again", () => {
    const c = new FakeCluster({ threads: 2, window: 100 }, { threads: 2, window: 100 });
    const [a, b] = c.runners;
    for (let i = 0; i < 4; i++) c.call(`c${i}`);
    a!.answerAll();
    c.call("next");
    expect(a!.sent.at(-1)?.exportName).toBe("next");
    expect(b!.inFlight).toBe(2);
  });

  it("passes over a runner whose window is full, however many threads it has free", () => {
    const c = new FakeCluster({ threads: 8, window: 1 }, { threads: 1, window: 4 });
    const [wide, narrow] = c.runners;
    c.call("first");
    c.call("second");
    expect(wide!.inFlight).toBe(1);
    expect(names(narrow!.sent)).toEqual(["second"]);
  });

  it("gives nothing to a runner that is stopping", () => {
    const c = new FakeCluster({ threads: 8 }, { threads: 1 });
    const [stopping, other] = c.runners;
    stopping!.draining = true;
    c.call("a");
    expect(names(stopping!.sent)).toEqual([]);
    expect(other!.inFlight).toBe(1);
    expect(c.scheduler.liveRunners).toBe(1);
  });
});
