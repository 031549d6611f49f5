import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ClusterClosedError, NoRunnersError, RunnerLostError } from "../../src/errors.ts";
import { errorOf, makeCall, names } from "./fake-call.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";
import { FakeRunner } from "./fake-runner.ts";

const WAIT = 1000;

/** The error a call failed with, checked to be NoRunnersError naming `operation`. */
function noRunners(e: Error, operation: string): NoRunnersError {
  expect(e).toBeInstanceOf(NoRunnersError);
  const n = e as NoRunnersError;
  expect(n.operation).toBe(operation);
  expect(n.waitedMs).toBe(WAIT);
  expect(n.code).toBe("ERR_STRAND_NO_RUNNERS");
  return n;
}

// With no usable runner, calls wait for one (waitForRunners), each until its own deadline;
// a runner that joins ends every wait. Time here is vitest's fake clock: a deadline passes
// when the test says so, never by a sleep.
describe("scheduler: waiting for runners", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("holds every kind of call while no runner is there, and sends them all to the first that joins", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT });
    const plain = c.call("plain");
    const g = c.call("g", { goroutine: true });
    const input = c.put(new FakeRunner(), 10); // stored on a runner that is not (yet) in the cluster
    const graph = c.call("graph", { deps: [input.entry] });
    await nextTurn();
    for (const x of [plain, g, graph]) expect(x.settled.state).toBe("pending");
    expect(c.scheduler.queued).toBe(3);
    vi.advanceTimersByTime(WAIT - 1);
    expect(plain.settled.state).toBe("pending");

    const late = c.join({ threads: 4, window: 8 });
    expect(names(late.sent).sort()).toEqual(["g", "graph", "plain"]);
    expect(c.scheduler.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // no clock left running
    vi.advanceTimersByTime(10 * WAIT);
    late.answerAll();
    for (const x of [plain, g, graph]) expect(x.settled.state).toBe("resolved");
  });

  it("fails each waiting call at its own deadline with NoRunnersError naming its function", () => {
    const c = new FakeCluster({ waitForRunners: WAIT });
    const first = c.call("first");
    vi.advanceTimersByTime(400);
    const second = c.call("second", { goroutine: true });
    vi.advanceTimersByTime(WAIT - 400);
    noRunners(errorOf(first), "first");
    expect(second.settled.state).toBe("pending");
    expect(c.scheduler.queued).toBe(1);
    vi.advanceTimersByTime(399);
    expect(second.settled.state).toBe("pending");
    vi.advanceTimersByTime(1);
    noRunners(errorOf(second), "second");
    expect(c.scheduler.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("never times out calls queued behind full windows while runners are there", () => {
    const c = new FakeCluster({ waitForRunners: WAIT }, { threads: 1, window: 1 });
    const [a] = c.runners;
    const calls = Array.from({ length: 5 }, (_, i) => c.call(`c${i}`));
    expect(c.scheduler.queued).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100 * WAIT);
    expect(calls.every((x) => x.settled.state === "pending")).toBe(true);
    for (let i = 0; i < 5; i++) a!.resolve(a!.running[0]!, i);
    expect(calls.map((x) => x.settled.state)).toEqual(new Array(5).fill("resolved"));
  });

  it("starts the clocks of queued calls when the last runner goes, and sends a lost call again to a runner that comes", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT }, { threads: 1, window: 1 });
    const [a] = c.runners;
    const running = c.call("running");
    const queued = c.call("queued");
    vi.advanceTimersByTime(5 * WAIT); // waiting for a window: no clock
    a!.lose();
    await nextTurn();
    // The retry policy took the lost call back: it waits with the others, spending one retry.
    expect(running.settled.state).toBe("pending");
    expect(queued.settled.state).toBe("pending");
    expect(c.scheduler.queued).toBe(2);
    vi.advanceTimersByTime(WAIT - 1);

    const b = c.join({ threads: 2 });
    expect(names(b.sent)).toEqual(["running", "queued"]);
    expect(running.call.attempts).toBe(2);
    b.answerAll(0, 7);
    expect(running.settled).toEqual({ state: "resolved", value: 7 });
  });

  it("fails them once the bound passes with no runner back", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT }, { threads: 1, window: 1 });
    const [a] = c.runners;
    const running = c.call("running");
    const queued = c.call("queued");
    a!.lose();
    await nextTurn();
    vi.advanceTimersByTime(WAIT);
    noRunners(errorOf(running), "running");
    noRunners(errorOf(queued), "queued");
    expect(c.scheduler.queued).toBe(0);
  });

  it("counts every runner stopping as none: calls wait for a runner that takes work", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT }, { threads: 1 });
    const [a] = c.runners;
    const f = c.call("f", { retries: 0 });
    a!.turnAway(f.call); // the runner is stopping: f goes again, elsewhere, without spending retries
    await nextTurn();
    expect(f.settled.state).toBe("pending");
    const g = c.call("g", { goroutine: true });
    expect(g.settled.state).toBe("pending");
    vi.advanceTimersByTime(WAIT);
    noRunners(errorOf(f), "f");
    noRunners(errorOf(g), "g");
  });

  it("lets a waiting call be withdrawn (timeout, cancel): its clock stops, the others' run on", () => {
    const c = new FakeCluster({ waitForRunners: WAIT });
    const gone = c.call("gone");
    const kept = c.call("kept");
    gone.call.reject(new Error("timed out"));
    c.scheduler.withdraw(gone.call);
    expect(c.scheduler.queued).toBe(1);
    c.scheduler.withdraw(kept.call);
    kept.call.reject(new Error("cancelled"));
    expect(c.scheduler.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // nothing waits: nothing keeps the process up
    const late = c.join();
    expect(names(late.sent)).toEqual([]);
    expect(errorOf(gone).message).toBe("timed out");
    expect(errorOf(kept).message).toBe("cancelled");
  });

  it("lets put, broadcast and spmd wait for a runner too, each until its own deadline", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT });
    const put = c.scheduler.whenLive("put").catch((e: Error) => e);
    vi.advanceTimersByTime(600);
    const spmd = c.scheduler.whenLive("spmd").catch((e: Error) => e);
    const broadcast = c.scheduler.whenLive("broadcast").catch((e: Error) => e);
    vi.advanceTimersByTime(WAIT - 600);
    noRunners((await put) as Error, "put");
    const runner = c.join();
    expect(await spmd).toBeUndefined();
    expect(await broadcast).toBeUndefined();
    await expect(c.scheduler.whenLive("put")).resolves.toBeUndefined(); // a runner is there: at once

    runner.lose();
    const late = c.scheduler.whenLive("broadcast").catch((e: Error) => e);
    vi.advanceTimersByTime(WAIT);
    noRunners((await late) as Error, "broadcast");
  });

  it("fails whatever waits with ClusterClosedError when the cluster closes, and refuses what comes after", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT });
    const waiting = c.call("waiting");
    const g = c.call("g", { goroutine: true });
    const put = c.scheduler.whenLive("put").catch((e: Error) => e);
    c.scheduler.close();
    for (const x of [waiting, g]) {
      expect(errorOf(x)).toBeInstanceOf(ClusterClosedError);
      expect(errorOf(x).message).toBe(`${x.call.exportName}: the cluster is closed`);
    }
    expect(await put).toBeInstanceOf(ClusterClosedError);
    expect(errorOf(c.call("after"))).toBeInstanceOf(ClusterClosedError);
    expect(vi.getTimerCount()).toBe(0);
    expect(c.scheduler.willPlace).toBe(false);
  });

  it("fails calls queued behind full windows with ClusterClosedError too when the cluster closes", () => {
    const c = new FakeCluster({ waitForRunners: 0 }, { threads: 1, window: 1 });
    c.call("running");
    const queued = c.call("queued");
    c.scheduler.close();
    expect(errorOf(queued)).toBeInstanceOf(ClusterClosedError);
    expect(c.scheduler.queued).toBe(0);
  });

  it("with waitForRunners 0 fails at once, as before it existed", async () => {
    const c = new FakeCluster({ waitForRunners: 0 });
    const plain = c.call("plain");
    const g = c.call("g", { goroutine: true });
    for (const x of [plain, g]) {
      expect(errorOf(x)).toBeInstanceOf(RunnerLostError);
      expect((errorOf(x) as RunnerLostError).runner).toBe("(none)");
    }
    await expect(c.scheduler.whenLive("put")).rejects.toBeInstanceOf(RunnerLostError);
    expect(c.scheduler.willPlace).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rebalances a queue onto a runner that joins while the others are busy, at once and without a clock", () => {
    const c = new FakeCluster({ waitForRunners: WAIT }, { threads: 1, window: 1 });
    const calls = Array.from({ length: 4 }, (_, i) => c.call(`c${i}`));
    expect(c.scheduler.queued).toBe(3);
    const late = c.join({ threads: 2, window: 2 });
    expect(names(late.sent)).toEqual(["c1", "c2"]);
    expect(c.scheduler.queued).toBe(1);
    expect(calls[3]!.call.queued).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sends a resent call that waited to the runner that came, though it was lost on a runner at that address", async () => {
    const c = new FakeCluster({ waitForRunners: WAIT }, { address: "h:1", threads: 1 });
    const [old] = c.runners;
    const f = c.call("f");
    old!.lose();
    await nextTurn();
    const again = c.join({ address: "h:1", threads: 1 }); // the same runner, restarted: a new link
    expect(f.call.link).toBe(again);
    expect(f.call.avoid).toBe(old);
    const direct = makeCall("direct");
    c.scheduler.submit(direct.call);
    expect(direct.call.link).toBe(again); // window of 2: room for one more
  });
});
