import { describe, expect, it } from "vitest";
import pino from "pino";
import { Observers } from "../../src/driver/observe/observers.ts";
import { mergeSnapshots, Progress, RateMeter, type ProgressHost, type ProgressSnapshot } from "../../src/driver/observe/progress.ts";
import { makeCall } from "./fake-call.ts";

// cluster.progress() against a fake cluster: the cluster's observers, runners we set by hand,
// and a close signal.

function fakeHost(runners: { alive: boolean; inFlight: number }[] = [{ alive: true, inFlight: 0 }]) {
  const observers = new Observers(pino({ level: "silent" }));
  const closed = new AbortController();
  const host: ProgressHost = { observe: (o) => observers.add(o), runners: () => runners, closed: closed.signal };
  /** A call made through the cluster's observers, as Cluster.call makes one. */
  const call = (name: string) => {
    const c = makeCall(name);
    observers.submitted(c.call);
    return c.call;
  };
  return { host, observers, runners, call, close: () => closed.abort() };
}

describe("cluster.progress() counts", () => {
  it("counts calls made, done and failed, in all and per function, exactly", () => {
    const f = fakeHost();
    const p = new Progress(f.host);
    const a = [f.call("a"), f.call("a"), f.call("a")];
    const b = [f.call("b"), f.call("b")];
    a[0]!.resolve(1);
    a[1]!.reject(new Error("no"));
    b[0]!.resolve(1);
    b[1]!.resolve(2);
    b[1]!.resolve(3); // settles once
    const s = p.snapshot();
    expect(s).toMatchObject({ submitted: 5, done: 3, failed: 1, final: false });
    expect(s.byFunction).toEqual({ a: { submitted: 3, done: 1, failed: 1 }, b: { submitted: 2, done: 2, failed: 0 } });
  });

  it("leaves out calls made before it started, and their settlements", () => {
    const f = fakeHost();
    const before = f.call("old");
    const p = new Progress(f.host);
    const now = f.call("new");
    before.resolve(1);
    now.resolve(1);
    expect(p.snapshot()).toMatchObject({ submitted: 1, done: 1, failed: 0, byFunction: { new: { submitted: 1, done: 1, failed: 0 } } });
    const none = new Progress(f.host);
    f.observers.settled(now, undefined); // a settlement heard before any call: not counted
    expect(none.snapshot()).toMatchObject({ submitted: 0, done: 0 });
  });

  it("reads runners busy, live and calls in flight from the runners; the final snapshot keeps the most seen live", () => {
    const f = fakeHost([{ alive: true, inFlight: 2 }, { alive: true, inFlight: 0 }, { alive: false, inFlight: 5 }]);
    const p = new Progress(f.host);
    expect(p.snapshot()).toMatchObject({ running: 2, runnersBusy: 1, runners: 2 });
    for (const r of f.runners) r.alive = false; // closing closes every link
    f.close();
    expect(p.snapshot()).toMatchObject({ running: 0, runnersBusy: 0, runners: 2, final: true });
  });

  it("iterates: a snapshot at once, then one when calls move, and a final one when the cluster closes", async () => {
    const f = fakeHost();
    const p = new Progress(f.host, { intervalMs: 0 });
    const it = p[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ submitted: 0, final: false });
    const next = it.next();
    const c = f.call("a");
    expect((await next).value).toMatchObject({ submitted: 1, done: 0 });
    const after = it.next();
    c.resolve(1);
    expect((await after).value).toMatchObject({ submitted: 1, done: 1, final: false });
    const last = it.next();
    f.close();
    expect(await last).toEqual({ done: false, value: expect.objectContaining({ done: 1, final: true }) as ProgressSnapshot });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(f.observers.size).toBe(0); // it stopped watching
    expect(p.stopped).toBe(true);
  });

  it("waits for intervalMs between snapshots, however fast calls move", async () => {
    const f = fakeHost();
    const p = new Progress(f.host, { intervalMs: 60 });
    const it = p[Symbol.asyncIterator]();
    await it.next();
    const t0 = performance.now();
    const next = it.next();
    f.call("a").resolve(1);
    f.call("a").resolve(2);
    expect((await next).value).toMatchObject({ submitted: 2, done: 2 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    f.close();
  });

  it("stops when the loop breaks, and ends at once for a cluster already closed", async () => {
    const f = fakeHost();
    const p = new Progress(f.host, { intervalMs: 0 });
    expect(f.observers.size).toBe(1);
    for await (const s of p) {
      expect(s.final).toBe(false);
      break;
    }
    expect(f.observers.size).toBe(0);
    expect(p.snapshot().final).toBe(true);
    f.close();
    const seen: ProgressSnapshot[] = [];
    for await (const s of new Progress(f.host)) seen.push(s);
    expect(seen.map((s) => s.final)).toEqual([true]);
  });

  it("measures a rate: over the last seconds while running, over the run at the end", () => {
    const r = new RateMeter();
    expect(r.recent(0, 0)).toBe(0); // not started
    r.start(1000);
    r.settled(3000);
    expect(r.whole(100)).toBe(50); // 100 in 2 s
    expect(r.recent(2000, 50)).toBe(50); // from the start: 50 in 1 s
    expect(r.recent(3000, 150)).toBe(100); // since the sample before: 100 in 1 s
    expect(r.recent(20_000, 150)).toBe(0); // nothing for long: old samples no longer count
    expect(new RateMeter().whole(5)).toBe(0);
  });

  it("adds views up (several clusters on one line)", () => {
    const a: ProgressSnapshot = { submitted: 3, done: 2, failed: 1, running: 0, rate: 10, byFunction: { f: { submitted: 3, done: 2, failed: 1 } }, runnersBusy: 0, runners: 2, elapsedMs: 100, final: true };
    const b: ProgressSnapshot = { ...a, submitted: 5, done: 1, failed: 0, running: 4, rate: 5, byFunction: { f: { submitted: 2, done: 1, failed: 0 }, g: { submitted: 3, done: 0, failed: 0 } }, runnersBusy: 1, elapsedMs: 300, final: false };
    expect(mergeSnapshots([a, b])).toEqual({
      submitted: 8, done: 3, failed: 1, running: 4, rate: 15, runnersBusy: 1, runners: 4, elapsedMs: 300, final: false,
      byFunction: { f: { submitted: 5, done: 3, failed: 1 }, g: { submitted: 3, done: 0, failed: 0 } },
    });
    expect(mergeSnapshots([a, { ...b, final: true }]).final).toBe(true);
  });
});
