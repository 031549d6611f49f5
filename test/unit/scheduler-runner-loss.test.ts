import { describe, expect, it } from "vitest";
import { RunnerLostError } from "../../src/errors.ts";
import { errorOf, names } from "./fake-call.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";
import { FakeRunner } from "./fake-runner.ts";

// Nobody is left waiting: with no runner to go to, a call fails with RunnerLostError
// rather than wait forever; while one is left, the queue goes there.
describe("scheduler: runners lost", () => {
  it("fails a call at once when the cluster has no runner", async () => {
    const c = new FakeCluster();
    const plain = c.call("plain");
    const g = c.call("g", { goroutine: true });
    const input = c.put(new FakeRunner(), 10); // held by a runner that never joined
    const graph = c.call("graph", { deps: [input.entry] });
    await nextTurn();
    for (const x of [plain, g, graph]) expect(errorOf(x)).toBeInstanceOf(RunnerLostError);
  });

  it("fails every queued call, of every kind, when the last runner goes", async () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    const [a] = c.runners;
    const input = c.put(a!, 10);
    const running = c.call("running", { retries: 0 });
    const plain = c.call("plain");
    const graph = c.call("graph", { deps: [input.entry] });
    await nextTurn();
    expect(c.scheduler.queued).toBe(2);
    a!.lose("gone for good");
    await nextTurn();
    for (const x of [running, plain, graph]) {
      const e = errorOf(x);
      expect(e).toBeInstanceOf(RunnerLostError);
      expect((e as RunnerLostError).runner).toBe(a!.address);
    }
    expect(c.scheduler.queued).toBe(0);
  });

  it("fails a lost call it would send again when no runner is left", async () => {
    const c = new FakeCluster({ threads: 1 });
    const [a] = c.runners;
    const f = c.call("f", { retries: 3 });
    a!.lose();
    await nextTurn();
    expect(errorOf(f)).toBeInstanceOf(RunnerLostError);
    expect(a!.sent.length).toBe(1);
  });

  it("moves the queue to the runners left", async () => {
    const c = new FakeCluster({ threads: 1, window: 1 }, { threads: 1, window: 1 });
    const [a, b] = c.runners;
    c.call("on-a", { retries: 0 });
    c.call("on-b");
    c.call("q1");
    c.call("q2");
    a!.lose();
    await nextTurn();
    expect(c.scheduler.liveRunners).toBe(1);
    b!.answerAll();
    b!.answerAll();
    expect(names(b!.sent)).toEqual(["on-b", "q1", "q2"]);
    expect(names(a!.sent)).toEqual(["on-a"]);
  });

  it("gives a runner that joins the calls waiting", () => {
    const c = new FakeCluster({ threads: 1, window: 1 });
    c.call("running");
    c.call("waiting");
    const late = c.join({ threads: 1 });
    expect(names(late.sent)).toEqual(["waiting"]);
  });
});
