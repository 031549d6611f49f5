import { describe, expect, it, vi } from "vitest";
import { RetryPolicy } from "../../src/driver/calls/retry-policy.ts";
import {
  CancelledError, ImportError, ObjectLostError, RemoteError, RunnerLostError, SerializationError, TimeoutError,
} from "../../src/errors.ts";
import { errorOf, makeCall, type TestCall } from "./fake-call.ts";
import { FakeCluster, nextTurn } from "./fake-cluster.ts";
import { FakeRunner } from "./fake-runner.ts";

/** The runner a call is on now. */
function runnerOf(c: FakeCluster, x: TestCall): FakeRunner {
  const r = c.runners.find((r) => r === x.call.link);
  if (r === undefined) throw new Error(`${x.call.exportName} is on no runner`);
  return r;
}

// A send is repeated only when the system lost it, never when the function failed.
describe("retry policy", () => {
  it("sends a call lost with its runner again, elsewhere", async () => {
    const c = new FakeCluster({ threads: 2 }, { threads: 1 });
    const [first, second] = c.runners;
    const f = c.call("f");
    first!.lose();
    await nextTurn();
    expect(f.call.link).toBe(second);
    expect(f.settled.state).toBe("pending");
    second!.resolve(f.call, 42);
    expect(f.settled).toEqual({ state: "resolved", value: 42 });
    expect(c.retries.resent).toBe(1);
  });

  it("spends one of `retries` per loss, then fails naming the attempts", async () => {
    const c = new FakeCluster({}, {}, {}, {}, {});
    const f = c.call("f", { retries: 2 });
    for (let loss = 0; loss < 3; loss++) {
      runnerOf(c, f).lose();
      await nextTurn();
    }
    const e = errorOf(f);
    expect(e).toBeInstanceOf(RunnerLostError);
    expect((e as RunnerLostError).attempts).toBe(3);
    expect(e.message).toMatch(/after 3 attempts/);
    expect(c.retries.resent).toBe(2);
    expect(c.runners.filter((r) => r.sent.length > 0)).toHaveLength(3);
  });

  it("never sends again a call with retries 0", async () => {
    const c = new FakeCluster({}, {});
    const f = c.call("f", { retries: 0 });
    runnerOf(c, f).lose();
    await nextTurn();
    expect((errorOf(f) as RunnerLostError).attempts).toBe(1);
    expect(c.runners.map((r) => r.sent.length).sort()).toEqual([0, 1]);
  });

  it.each([
    ["an application error", () => new RemoteError({ message: "boom", remoteName: "Error", remoteStack: "", functionName: "f", runner: "r" })],
    ["a timeout", () => new TimeoutError("f", 10)],
    ["a cancellation", () => new CancelledError("f cancelled")],
    ["a value that cannot be sent", () => new SerializationError("args[0]", "a function")],
    ["a missing export", () => new ImportError("no export f")],
    ["an object the call does not read", () => new ObjectLostError("other.1", "gone")],
  ])("never retries %s", async (_what, make) => {
    const c = new FakeCluster({}, {});
    const f = c.call("f");
    const error = make();
    runnerOf(c, f).reject(f.call, error);
    await nextTurn();
    expect(errorOf(f)).toBe(error);
    expect(f.call.attempts).toBe(1);
    expect(c.retries.resent).toBe(0);
  });

  it("never retries a goroutine: the channels it held broke with its runner", async () => {
    const c = new FakeCluster({}, {});
    const g = c.call("g", { goroutine: true });
    runnerOf(c, g).lose();
    await nextTurn();
    const e = errorOf(g) as RunnerLostError;
    expect(e).toBeInstanceOf(RunnerLostError);
    expect(e.attempts).toBeUndefined();
    expect(g.call.attempts).toBe(1);
  });

  it("never retries an SPMD rank: a lost rank aborts its job", async () => {
    const c = new FakeCluster({}, {});
    const rank = c.call("main", { rank: 2 });
    runnerOf(c, rank).lose();
    await nextTurn();
    expect(errorOf(rank)).toBeInstanceOf(RunnerLostError);
    expect(rank.call.attempts).toBe(1);
  });

  it("sends a call a stopping runner turned away again without spending retries, a bounded number of times", async () => {
    const c = new FakeCluster({}, {}, {}, {}, {}, {});
    const f = c.call("f", { retries: 0 });
    for (let i = 0; i < 3; i++) {
      runnerOf(c, f).turnAway(f.call);
      await nextTurn();
      expect(f.settled.state).toBe("pending");
    }
    runnerOf(c, f).turnAway(f.call);
    await nextTurn();
    expect((errorOf(f) as RunnerLostError).attempts).toBe(4);
    expect(c.runners.filter((r) => r.draining)).toHaveLength(4);
  });

  it("sends a call again when its runner could not fetch an input, a bounded number of times", async () => {
    const c = new FakeCluster({}, {}, {}, {}, {}, {});
    const input = c.put(c.runners[0]!, 1000);
    for (const r of c.runners) input.entry.holders.add(r);
    const f = c.call("reads", { deps: [input.entry], retries: 0 });
    await nextTurn();
    const tried: FakeRunner[] = [];
    for (let i = 0; i < 4; i++) {
      const r = runnerOf(c, f);
      tried.push(r);
      r.reject(f.call, new ObjectLostError(input.entry.id, "not found"));
      await nextTurn();
    }
    expect(errorOf(f)).toBeInstanceOf(ObjectLostError);
    expect(new Set(tried).size).toBe(4);
    // Each runner it was taken back from is no longer counted as holding the input.
    for (const r of tried.slice(0, 3)) expect(input.entry.holders.has(r)).toBe(false);
  });

  it("fails a lost call as is when no runner is live", async () => {
    const c = new FakeCluster({});
    const f = c.call("f", { retries: 5 });
    runnerOf(c, f).lose();
    await nextTurn();
    expect((errorOf(f) as RunnerLostError).attempts).toBe(1);
    expect(c.retries.resent).toBe(0);
  });

  it("sends again only after the failing runner's own cleanup, and not at all if the call settled meanwhile", async () => {
    const policy = new RetryPolicy(() => true);
    const resend = vi.fn();
    const f = makeCall("f");
    const runner = new FakeRunner();
    runner.send(f.call);
    f.call.retry = (e) => policy.take(f.call, e, resend);
    runner.lose();
    expect(resend).not.toHaveBeenCalled();
    expect(f.call.link).toBeUndefined();
    // Its timeout fires before the resend: it settles, and is not sent again.
    f.call.reject(new TimeoutError("f", 5));
    await nextTurn();
    expect(resend).not.toHaveBeenCalled();
    expect(errorOf(f)).toBeInstanceOf(TimeoutError);
  });
});
