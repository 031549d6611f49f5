import { readdirSync, watch } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { local, RemoteError, RunnerLostError, TimeoutError } from "../src/index.ts";
import { fixture, rejectionOf, removeDir, RunnerEvents, tempDir } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type R = typeof import("./fixtures/retry.ts");

// Every run of a fixture function leaves a marker file `<tag>.<pid>.<uuid>` in the test's
// folder: the tests count attempts and see which runner made each.

/** The pid of each attempt of `tag` so far. */
async function attempts(dir: string, tag: string): Promise<number[]> {
  return (await readdir(dir)).filter((f) => f.startsWith(`${tag}.`)).map((f) => Number(f.split(".")[1]));
}

/** Resolves with the attempts of `tag` once there are at least `n` (watching the folder: no polling). */
function attemptsReach(dir: string, tag: string, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = (): void => {
      attempts(dir, tag).then((a) => {
        if (done || a.length < n) return;
        done = true;
        w.close();
        resolve(a);
      }, reject);
    };
    const w = watch(dir, check);
    check();
  });
}

/** Lets every `held` call return (those still to come return at once). */
const release = (dir: string): Promise<void> => writeFile(path.join(dir, "go"), "");

/** A fresh folder for one test's markers, removed afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir("strand-retries-");
  try {
    await body(dir);
  } finally {
    await removeDir(dir);
  }
}

describe("retries: a call lost with its runner runs again elsewhere", () => {
  it("a call running on a runner that is SIGKILLed runs again on the other runner, whose result the caller gets", () => withDir(async (dir) => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<R>(fixture("retry.ts"));
    const call = m.held(dir, "a", 21);
    const [victim] = await attemptsReach(dir, "a", 1);
    const survivor = cluster.runners.find((r) => r.pid !== victim)!.pid;
    process.kill(victim!, "SIGKILL");
    expect((await attemptsReach(dir, "a", 2)).sort()).toEqual([victim, survivor].sort());
    await release(dir);
    expect(await call).toEqual({ n: 42, pid: survivor });
    expect(await attempts(dir, "a")).toHaveLength(2);
    expect(cluster.stats.resent).toBe(1);
    expect(cluster.stats.failed).toBe(0);
  }));

  it("`retries: 0` on the call: RunnerLostError after one attempt, nothing runs again", () => withDir(async (dir) => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<R>(fixture("retry.ts"));
    const call = m.held.with({ retries: 0 })(dir, "b", 1);
    const [victim] = await attemptsReach(dir, "b", 1);
    process.kill(victim!, "SIGKILL");
    const err = await rejectionOf(call);
    expect(err).toBeInstanceOf(RunnerLostError);
    expect((err as RunnerLostError).attempts).toBe(1);
    expect((err as Error).message).toMatch(/\(after 1 attempt\)$/);
    // The other runner serves on; the lost call never ran there.
    expect(await m.add(1, 2)).toBe(3);
    expect(await attempts(dir, "b")).toEqual([victim]);
    expect(cluster.stats.resent).toBe(0);
  }));

  it("a cluster default of `retries: 0` applies to every call; `with({ retries })` overrides it", () => withDir(async (dir) => {
    await using cluster = await local({ runners: 3, threads: 1, retries: 0 });
    const m = await cluster.import<R>(fixture("retry.ts"));
    const plain = m.held(dir, "c", 1);
    const retried = m.held.with({ retries: 1 })(dir, "d", 2);
    const [first] = await attemptsReach(dir, "c", 1);
    // Both calls started (each runner has one thread, and they went to different runners).
    const [other] = await attemptsReach(dir, "d", 1);
    expect(other).not.toBe(first);
    process.kill(first!, "SIGKILL");
    process.kill(other!, "SIGKILL");
    const err = await rejectionOf(plain);
    expect(err).toBeInstanceOf(RunnerLostError);
    expect((err as RunnerLostError).attempts).toBe(1);
    // The call allowed one retry runs again on the third runner.
    const third = cluster.runners.find((r) => r.pid !== first && r.pid !== other)!.pid;
    await attemptsReach(dir, "d", 2);
    await release(dir);
    expect(await retried).toEqual({ n: 4, pid: third });
    expect(await attempts(dir, "c")).toEqual([first]);
  }));

  it("retries run out: RunnerLostError naming the attempts, once every runner is gone (waitForRunners 0) or the budget is spent; no hang", () => withDir(async (dir) => {
    await using cluster = await local({ runners: 3, threads: 1, waitForRunners: 0 });
    const m = await cluster.import<R>(fixture("retry.ts"));
    // One retry allowed, three runners: the second loss ends it though a runner is left.
    const budget = m.held.with({ retries: 1 })(dir, "e", 1);
    const [a] = await attemptsReach(dir, "e", 1);
    process.kill(a!, "SIGKILL");
    const b = (await attemptsReach(dir, "e", 2)).find((p) => p !== a)!;
    process.kill(b, "SIGKILL");
    const spent = await rejectionOf(budget);
    expect(spent).toBeInstanceOf(RunnerLostError);
    expect((spent as RunnerLostError).attempts).toBe(2);
    expect((spent as Error).message).toMatch(/\(after 2 attempts\)$/);
    expect(cluster.runners.filter((r) => r.alive)).toHaveLength(1);

    // The default (3 retries), and the last runner dies too: nowhere left to go.
    const last = cluster.runners.find((r) => r.alive)!.pid;
    const orphan = m.held(dir, "f", 1);
    await attemptsReach(dir, "f", 1);
    process.kill(last, "SIGKILL");
    const gone = await rejectionOf(orphan);
    expect(gone).toBeInstanceOf(RunnerLostError);
    expect((gone as RunnerLostError).attempts).toBe(1);
    expect((gone as Error).message).toMatch(/after 1 attempt/);
    expect(cluster.runners.every((r) => !r.alive)).toBe(true);
    await expect(m.add(1, 1)).rejects.toBeInstanceOf(RunnerLostError);
  }));

  it("200 calls in flight when a runner dies all complete, with the right results", () => withDir(async (dir) => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<R>(fixture("retry.ts"));
    // Short calls first: each runner's window grows to many calls in flight.
    await Promise.all(Array.from({ length: 400 }, (_, i) => m.add(i, 1)));
    const calls = Array.from({ length: 200 }, (_, i) => m.held(dir, `m${i}`, i));
    const [victim, survivor] = [...cluster.runners].sort((a, b) => b.inFlight - a.inFlight);
    // What the victim holds is counted when it dies, not before: the driver may still send
    // it calls until it notices the death. The retry policy takes every call back from the
    // dead link before the "lost" event, so `resent` then counts exactly the calls lost.
    // Calls that had started on the survivor by then were never on the victim (the calls
    // taken back are sent again only after the event).
    let resentAtLoss = -1;
    let startedOnSurvivorAtLoss = -1;
    cluster.on("runner", (e) => {
      if (e.type !== "lost" || e.address !== victim!.address) return;
      resentAtLoss = cluster.stats.resent;
      startedOnSurvivorAtLoss = readdirSync(dir).filter((f) => f.includes(`.${survivor!.pid}.`)).length;
    });
    // Kill the victim once it is running them (none can finish there: they wait for `go`).
    await new Promise<void>((resolve) => {
      const w = watch(dir, (_e, f) => {
        if (!String(f).includes(`.${victim!.pid}.`)) return;
        w.close();
        resolve();
      });
    });
    process.kill(victim!.pid, "SIGKILL");
    await events.next("lost", victim!.address);
    await release(dir);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: 200 }, (_, i) => 2 * i));
    expect(new Set(results.map((r) => r.pid))).toEqual(new Set([survivor!.pid]));
    // Every call that ran on the victim ran once more, on the survivor; no other ran twice.
    const ranOnVictim: number[] = [];
    for (let i = 0; i < 200; i++) {
      const pids = await attempts(dir, `m${i}`);
      if (pids.includes(victim!.pid)) {
        ranOnVictim.push(i);
        expect(pids.sort(), `call ${i}`).toEqual([victim!.pid, survivor!.pid].sort());
      } else {
        expect(pids, `call ${i}`).toEqual([survivor!.pid]);
      }
    }
    // The calls lost were sent again, each once, and nothing else was: at least those that
    // had started on the victim (some may have reached it without starting), at most those
    // not already running on the survivor.
    expect(cluster.stats.resent).toBe(resentAtLoss);
    expect(ranOnVictim.length).toBeGreaterThan(0);
    expect(resentAtLoss).toBeGreaterThanOrEqual(ranOnVictim.length);
    expect(resentAtLoss).toBeLessThanOrEqual(200 - startedOnSurvivorAtLoss);
  }));
});

describe("retries: what is never retried", () => {
  it("a goroutine (a call holding channels): the channels broke with its runner, so it fails", () => withDir(async (dir) => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<R>(fixture("retry.ts"));
    const call = m.heldWithChannel(dir, "g", cluster.chan<number>());
    const [victim] = await attemptsReach(dir, "g", 1);
    process.kill(victim!, "SIGKILL");
    const err = await rejectionOf(call);
    expect(err).toBeInstanceOf(RunnerLostError);
    expect((err as RunnerLostError).attempts).toBeUndefined();
    expect(cluster.stats.resent).toBe(0);
    expect(await attempts(dir, "g")).toEqual([victim]);
  }));
});

describe("retries: what is never retried, on one cluster", () => {
  let dir: string;
  const t = useCluster<{ m: R }>(async (defer) => {
    dir = await tempDir("strand-retries-");
    defer(() => removeDir(dir));
    return local({ runners: 2, threads: 1 });
  }, { m: "retry.ts" });
  beforeAll(async () => {
    await Promise.all([t.m.add(1, 1), t.m.add(2, 2)]); // the code is on both runners
  });

  it("an application error: exactly one attempt", async () => {
    const err = await rejectionOf(t.m.failing(dir, "x"));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteName).toBe("RangeError");
    expect(await attempts(dir, "x")).toHaveLength(1);
    expect(t.cluster.stats.resent).toBe(0);
  });

  it("`retries` must be a non-negative integer: the call (or the cluster) is refused at once", async () => {
    await expect(t.m.add.with({ retries: -1 })(1, 2)).rejects.toBeInstanceOf(TypeError);
    await expect(t.m.add.with({ retries: 1.5 })(1, 2)).rejects.toThrow(/retries must be a non-negative integer/);
    await expect(local({ runners: 1, retries: Number.NaN })).rejects.toBeInstanceOf(TypeError);
    expect(await t.m.add.with({ retries: 5 })(1, 2)).toBe(3);
  });

  // Last: it kills a runner.
  it("a call whose timeout fired is not sent again, even when its runner dies before it stopped", async () => {
    const events = new RunnerEvents(t.cluster);
    const call = t.m.held.with({ timeout: 1000 })(dir, "t", 1);
    const [victim] = await attemptsReach(dir, "t", 1);
    expect(await rejectionOf(call)).toBeInstanceOf(TimeoutError);
    // The runner stops the call's thread only 500 ms after the cancel: it may still be there.
    process.kill(victim!, "SIGKILL");
    await release(dir);
    await events.next("lost", t.cluster.runners.find((r) => r.pid === victim)!.address);
    expect(t.cluster.stats.resent).toBe(0);
    expect(await attempts(dir, "t")).toEqual([victim]);
  });
});
