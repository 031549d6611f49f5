import { describe, expect, it } from "vitest";
import { names } from "./fake-call.ts";
import { FakeCluster } from "./fake-cluster.ts";

// Beyond every runner's window, calls wait in the driver, in order, and a finished call
// pulls the next one: no timers, no polling.
describe("scheduler: the queue behind full windows", () => {
  it("holds calls in the driver once every window is full", () => {
    const c = new FakeCluster({ threads: 1, window: 2 }, { threads: 1, window: 1 });
    const calls = Array.from({ length: 5 }, (_, i) => c.call(`c${i}`));
    expect(c.runners.map((r) => r.inFlight)).toEqual([2, 1]);
    expect(c.scheduler.queued).toBe(2);
    expect(calls.slice(3).every((x) => x.call.queued)).toBe(true);
  });

  it("sends the oldest waiting call when a slot frees, where it freed", () => {
    const c = new FakeCluster({ threads: 1, window: 1 }, { threads: 1, window: 1 });
    const [a, b] = c.runners;
    for (let i = 0; i < 5; i++) c.call(`c${i}`);
    b!.resolve(b!.running[0]!, 1);
    expect(names(b!.sent)).toEqual(["c1", "c2"]);
    a!.resolve(a!.running[0]!, 1);
    b!.resolve(b!.running[0]!, 1);
    expect(names(a!.sent)).toEqual(["c0", "c3"]);
    expect(names(b!.sent)).toEqual(["c1", "c2", "c4"]);
    expect(c.scheduler.queued).toBe(0);
  });

  it("keeps order: a new call does not overtake waiting ones when room appears", () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    c.call("running");
    c.call("waiting");
    a!.window = 3; // room the scheduler has not been told of yet
    c.call("late");
    expect(names(a!.sent)).toEqual(["running"]);
    c.scheduler.slotFreed(a!);
    expect(names(a!.sent)).toEqual(["running", "waiting", "late"]);
  });

  it("skips a call withdrawn while it waited (a timeout or a signal)", () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    c.call("running");
    const gone = c.call("gone");
    c.call("next");
    gone.call.reject(new Error("timed out"));
    c.scheduler.withdraw(gone.call);
    expect(gone.call.queued).toBe(false);
    a!.resolve(a!.running[0]!, 1);
    expect(names(a!.sent)).toEqual(["running", "next"]);
    expect(c.scheduler.queued).toBe(0);
  });

  it("does not count a withdrawn call as queued, and lets the next call go straight to a runner with room", () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    c.call("running");
    const gone = c.call("gone");
    expect(c.scheduler.queued).toBe(1);
    gone.call.reject(new Error("timed out"));
    c.scheduler.withdraw(gone.call);
    expect(c.scheduler.queued).toBe(0); // it counted until the head passed its slot
    // Room appears as it does on a real link: the window grows and the scheduler is told.
    // Nothing was waiting, so a new call takes it at once instead of queueing behind a ghost.
    a!.window = 2;
    c.scheduler.slotFreed(a!);
    c.call("late");
    expect(names(a!.sent)).toEqual(["running", "late"]);
  });

  it("drains a long queue completely as calls finish", () => {
    const c = new FakeCluster({ threads: 2, window: 4 }, { threads: 1, window: 2 });
    const calls = Array.from({ length: 200 }, (_, i) => c.call(`c${i}`));
    for (let round = 0; c.runners.some((r) => r.inFlight > 0); round++) {
      for (const r of c.runners) {
        expect(r.inFlight).toBeLessThanOrEqual(r.window);
        r.answerAll(0, round);
      }
    }
    expect(c.scheduler.queued).toBe(0);
    expect(calls.every((x) => x.settled.state === "resolved")).toBe(true);
  });
});
