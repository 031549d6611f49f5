import { describe, expect, it } from "vitest";
import type { ActorStat, RunnerStats } from "../../src/protocol/messages.ts";
import type { RunnerUsage, Span } from "../../src/protocol/activity.ts";
import type { RunnerActivity } from "../../src/driver/observe/runner-watch.ts";
import type { DriverActor, DriverRunner } from "../../src/driver/dashboard/source.ts";
import { DashboardModel, DEFAULT_LIMITS, type ModelLimits } from "../../src/driver/dashboard/view-model.ts";
import { errorInfo } from "../../src/driver/dashboard/dashboard.ts";
import { RemoteError } from "../../src/errors.ts";

// The dashboard's view model, fed by hand: activity as runners send it, call events as the
// observer adapter reports them, every time given. What the page would show is checked.

const SELF = "me";
const T0 = 1_700_000_000_000; // ms since the epoch

const stats = (o: Partial<RunnerStats> = {}): RunnerStats => ({
  calls: 0, failures: 0, inFlight: 0, codeFetches: 0, codeBytesReceived: 0, codeLoads: 0, cachedModules: 0, sessions: 1, workerRestarts: 0,
  batches: 0, batchedCalls: 0, objects: 0, objectBytes: 0, objectBytesLimit: 1 << 30, objectFetches: 0, objectBytesFetched: 0, objectsServed: 0,
  channelOpsRelayed: 0, goroutines: 0, ...o,
});
const usage = (o: Partial<RunnerUsage> = {}): RunnerUsage => ({ cpu: 0.5, rss: 100e6, heapUsed: 10e6, threads: 2, running: 0, uptime: 5, ...o });

/** A span of `name` that ran at runner time `startMs` for `durMs`. */
function span(name: string, startMs: number, durMs: number, o: Partial<Span> = {}): Span {
  return { kind: "call", name, thread: 1, start: startMs * 1000, dur: durMs * 1000, ok: true, owner: "other", callId: 1, error: null, bytes: 10, ...o };
}

function activity(runner: string, atMs: number, spans: Span[] = [], o: { stats?: Partial<RunnerStats>; usage?: Partial<RunnerUsage>; dropped?: number } = {}): RunnerActivity {
  return { runner, at: atMs * 1000, stats: stats(o.stats), usage: usage(o.usage), spans, dropped: o.dropped ?? 0 };
}

const driverRunner = (address: string, o: Partial<DriverRunner> = {}): DriverRunner =>
  ({ address, threads: 2, inFlight: 0, alive: true, bytesSent: 0, bytesReceived: 0, ...o });

const actor = (id: string, o: Partial<ActorStat> = {}): ActorStat => ({
  id, className: "Counter", name: null, owner: "other", thread: 3, port: 9000, hash: "h", mailbox: 0, running: 0, calls: 0, incarnation: 0, detached: false, ...o,
});
const mine = (id: string, o: Partial<DriverActor> = {}): DriverActor =>
  ({ id, className: "Counter", name: undefined, runner: "a:1", state: "alive", restarts: 0, owned: true, queued: 0, ...o });

const model = (limits: Partial<ModelLimits> = {}, self: string | undefined = SELF): DashboardModel => new DashboardModel({ ...DEFAULT_LIMITS, ...limits }, self);

describe("dashboard view model", () => {
  it("shows each runner from its reports and the driver's view, and which are lost", () => {
    const m = model();
    m.heard(activity("a:1", T0 - 500, [], { usage: { cpu: 99 } }), T0 - 498);
    expect(m.picture(T0, [], []).runners[0]!.cpu).toBeNull(); // the first report's CPU covers no time
    m.heard(activity("a:1", T0, [], { stats: { calls: 7, failures: 1, objects: 3, objectBytes: 300, objectBytesFetched: 50 }, usage: { cpu: 1.5, running: 2 } }), T0 + 2);
    const p = m.picture(T0 + 502, [driverRunner("a:1", { bytesSent: 10, bytesReceived: 20, inFlight: 1 }), driverRunner("b:2", { alive: false })], []);
    expect(p.runners).toHaveLength(2);
    const [a, b] = p.runners;
    expect(a).toMatchObject({ address: "a:1", alive: true, threads: 2, running: 2, cpu: 1.5, calls: 7, failures: 1, objects: 3, objectBytes: 300, bytesFetched: 50, bytesSent: 10, bytesReceived: 20, inFlight: 1, heardAgoMs: 500 });
    expect(b).toMatchObject({ address: "b:2", alive: false, cpu: null, calls: null, heardAgoMs: null });
  });

  it("puts spans on this host's clock, using the smallest delay seen from each runner", () => {
    const m = model();
    // The runner's clock is 10 s behind ours; its first report took 30 ms to arrive, its second 2 ms.
    const skew = 10_000;
    m.heard(activity("a:1", T0 - skew, [span("f", T0 - skew - 100, 50)]), T0 + 30);
    m.heard(activity("a:1", T0 + 1000 - skew, [span("g", T0 + 900 - skew, 50)]), T0 + 1002);
    const p = m.picture(T0 + 1100, [], []);
    const g = p.spans.find((s) => s[3] === "g")!;
    expect(g[4]).toBeCloseTo(T0 + 902, 3);
    expect(g[5]).toBe(50);
    expect(p.spans.map((s) => s[0])).toEqual([1, 2]);
  });

  it("counts this driver's calls through their events: queued, running, done, failed", () => {
    const m = model();
    for (let seq = 1; seq <= 4; seq++) m.submitted({ seq, name: "f" }, T0);
    m.sent({ seq: 1, name: "f", runner: "a:1" }, T0);
    m.sent({ seq: 2, name: "f", runner: "a:1" }, T0);
    m.sent({ seq: 2, name: "f", runner: "b:2" }, T0); // resent: still one running
    let f = m.picture(T0, [], []).functions[0]!;
    expect(f).toMatchObject({ name: "f", submitted: 4, queued: 2, running: 2, done: 0, failed: 0 });
    m.settled({ seq: 1, name: "f", runner: "a:1" }, undefined, T0);
    m.settled({ seq: 2, name: "f", runner: "b:2" }, { message: "RemoteError: boom", stack: "at f (m.ts:1)" }, T0 + 5);
    m.settled({ seq: 3, name: "f" }, { message: "CancelledError: f cancelled" }, T0 + 6); // settled before it was sent
    m.settled({ seq: 3, name: "f" }, undefined, T0 + 7); // once only
    f = m.picture(T0 + 10, [], []).functions[0]!;
    expect(f).toMatchObject({ submitted: 4, queued: 1, running: 0, done: 1, failed: 2 });
    const errors = m.picture(T0 + 10, [], []).errors;
    expect(errors.map((e) => e.message)).toEqual(["CancelledError: f cancelled", "RemoteError: boom"]); // newest first
    expect(errors[1]).toMatchObject({ function: "f", runner: "b:2", stack: "at f (m.ts:1)", source: "call" });
  });

  it("counts other drivers' calls from spans, its own only once, and keeps a mean run time", () => {
    const m = model();
    m.submitted({ seq: 1, name: "f" }, T0);
    m.sent({ seq: 1, name: "f", runner: "a:1" }, T0);
    m.settled({ seq: 1, name: "f", runner: "a:1" }, { message: "RemoteError: mine" }, T0 + 10);
    m.heard(activity("a:1", T0 + 20, [
      span("f", T0, 10, { owner: SELF, ok: false, error: "TypeError: mine" }), // the call above, seen on the runner
      span("f", T0, 30, { owner: "other" }),
      span("f", T0, 20, { owner: "other", ok: false, error: "RangeError: theirs" }),
    ]), T0 + 20);
    const p = m.picture(T0 + 30, [], []);
    expect(p.functions[0]).toMatchObject({ name: "f", submitted: 3, done: 1, failed: 2, meanMs: 20 });
    expect(p.errors.map((e) => [e.message, e.source])).toEqual([["RangeError: theirs", "runner"], ["RemoteError: mine", "call"]]);
  });

  it("without call events (a standalone dashboard) counts every span, its own owner included", () => {
    const m = model({}, undefined);
    m.heard(activity("a:1", T0, [span("f", T0, 1, { owner: "x" }), span("f", T0, 1, { owner: "y", ok: false, error: "E: e" }), span("strand:rank:main", T0, 5)]), T0);
    const p = m.picture(T0, [], []);
    expect(p.calls).toBe(false);
    expect(p.functions.map((f) => [f.name, f.submitted, f.done, f.failed])).toEqual([["main", 1, 1, 0], ["f", 2, 1, 1]]);
    expect(p.errors).toHaveLength(1);
  });

  it("keeps the task stream bounded: the window, the span count, and the spans a picture carries", () => {
    const m = model({ windowMs: 1000, maxSpans: 5, maxSpansPerPicture: 3 });
    m.heard(activity("a:1", T0, [span("old", T0 - 3000, 10)]), T0);
    expect(m.picture(T0, [], []).spans).toHaveLength(0); // ended before the window
    m.heard(activity("a:1", T0, Array.from({ length: 8 }, (_, i) => span(`f${i}`, T0 - 100 + i, 1))), T0);
    let p = m.picture(T0, [], []);
    expect(p.spans.map((s) => s[3])).toEqual(["f5", "f6", "f7"]); // the newest 3 of the 5 kept
    expect(p.skippedSpans).toBe(2);
    expect(p.lastSpan).toBe(9);
    // A viewer that has seen up to seq 8 gets only the ninth.
    p = m.picture(T0, [], [], 8);
    expect(p.spans.map((s) => s[0])).toEqual([9]);
    expect(p.skippedSpans).toBe(0);
    // Later, everything has aged out of the window.
    expect(m.picture(T0 + 5000, [], []).spans).toEqual([]);
  });

  it("forgets spans in bulk without losing order (many reports)", () => {
    const m = model({ windowMs: 100, maxSpans: 100_000 });
    let seen = 0;
    for (let k = 0; k < 50; k++) {
      const t = T0 + k * 100;
      m.heard(activity("a:1", t, Array.from({ length: 200 }, (_, i) => span("f", t + i * 0.1, 0.05))), t);
      const p = m.picture(t + 30, [], [], seen);
      expect(p.spans.length).toBe(200);
      expect(p.spans[0]![0]).toBe(seen + 1);
      seen = p.lastSpan;
    }
  });

  it("counts what runners dropped, and says so", () => {
    const m = model();
    m.heard(activity("a:1", T0, [], { dropped: 12 }), T0);
    m.heard(activity("a:1", T0, [], { dropped: 3 }), T0);
    expect(m.picture(T0, [], []).droppedSpans).toBe(15);
  });

  it("keeps the last errors only, and cuts long ones", () => {
    const m = model({ maxErrors: 3, maxErrorText: 20 });
    for (let seq = 1; seq <= 5; seq++) {
      m.submitted({ seq, name: "f" }, T0);
      m.settled({ seq, name: "f" }, { message: `E${seq}`, stack: "x".repeat(100) }, T0 + seq);
    }
    const errors = m.picture(T0 + 10, [], []).errors;
    expect(errors.map((e) => e.message)).toEqual(["E5", "E4", "E3"]);
    expect(errors[0]!.stack).toMatch(/^x{20}… \(80 more characters\)$/);
  });

  it("groups an SPMD job's ranks, follows each, and ends the job when the last settles", () => {
    const m = model();
    for (let r = 0; r < 3; r++) m.submitted({ seq: 10 + r, name: "main", rank: r }, T0);
    for (let r = 0; r < 2; r++) m.submitted({ seq: 20 + r, name: "main", rank: r }, T0 + 1); // a second job
    m.sent({ seq: 10, name: "main", rank: 0, runner: "a:1" }, T0);
    m.sent({ seq: 11, name: "main", rank: 1, runner: "b:2" }, T0);
    const [second, first] = m.picture(T0, [], []).jobs;
    expect(first).toMatchObject({ id: 1, function: "main", size: 3, state: "running", ended: null });
    expect(first!.ranks.map((r) => [r.rank, r.state, r.runner])).toEqual([[0, "running", "a:1"], [1, "running", "b:2"], [2, "queued", null]]);
    expect(second).toMatchObject({ id: 2, size: 2 });
    m.settled({ seq: 10, name: "main", rank: 0, runner: "a:1" }, undefined, T0 + 5);
    m.settled({ seq: 11, name: "main", rank: 1, runner: "b:2" }, { message: "RemoteError: rank 1 threw" }, T0 + 6);
    m.settled({ seq: 12, name: "main", rank: 2, runner: "a:1" }, { message: "JobAbortedError: rank 1 failed" }, T0 + 7);
    const [, ended] = m.picture(T0 + 8, [], []).jobs;
    expect(ended).toMatchObject({ state: "failed", ended: T0 + 7 });
    expect(ended!.ranks.map((r) => r.state)).toEqual(["done", "failed", "failed"]);
    expect(m.picture(T0 + 8, [], []).errors[1]).toMatchObject({ function: "main", rank: 1, message: "RemoteError: rank 1 threw" });
  });

  it("keeps the last jobs, finished ones going first", () => {
    const m = model({ maxJobs: 2 });
    m.submitted({ seq: 1, name: "long", rank: 0 }, T0); // never finishes
    for (let j = 0; j < 3; j++) {
      m.submitted({ seq: 10 + j, name: "short", rank: 0 }, T0);
      m.settled({ seq: 10 + j, name: "short", rank: 0 }, undefined, T0);
    }
    const jobs = m.picture(T0, [], []).jobs;
    expect(jobs.map((j) => [j.id, j.function, j.state])).toEqual([[4, "short", "done"], [1, "long", "running"]]);
  });

  it("keeps at most maxFunctions, forgetting the least recently used idle one", () => {
    const m = model({ maxFunctions: 2 });
    m.submitted({ seq: 1, name: "busy" }, T0);
    m.heard(activity("a:1", T0, [span("a", T0, 1)]), T0);
    m.heard(activity("a:1", T0, [span("b", T0, 1)]), T0);
    expect(m.picture(T0, [], []).functions.map((f) => f.name).sort()).toEqual(["b", "busy"]);
  });

  it("notes runners lost and back among the errors", () => {
    const m = model();
    m.runnerChanged({ type: "lost", address: "a:1", error: { message: "no heartbeat for 1500 ms" } }, T0);
    m.runnerChanged({ type: "joined", address: "a:1" }, T0 + 1);
    const p = m.picture(T0 + 2, [], []);
    expect(p.errors.map((e) => [e.source, e.runner, e.message])).toEqual([["cluster", "a:1", "runner joined"], ["cluster", "a:1", "runner lost: no heartbeat for 1500 ms"]]);
    expect(p.runners.map((r) => r.address)).toEqual(["a:1"]);
  });

  it("passes channels on as the page names them", () => {
    const p = model().picture(T0, [], [{ id: "x.c1", capacity: 4, buffered: 2, waitingSenders: 0, waitingReceivers: 1, reserved: 0, closed: false, broken: false }]);
    expect(p.channels).toEqual([{ id: "x.c1", capacity: 4, buffered: 2, blockedSenders: 0, blockedReceivers: 1, closed: false, broken: false }]);
  });

  it("lists the runners' actors with this driver's own, busiest first, by what each side knows best", () => {
    const m = model();
    m.heard(activity("a:1", T0, [], { stats: {
      actors: [actor("x.a1", { mailbox: 2, running: 1, calls: 3, owner: SELF }), actor("o.a7", { className: "Store", name: "cache", calls: 40 })], actorCount: 2, actorMailbox: 2,
    } }), T0);
    m.heard(activity("b:2", T0, [], { stats: { actors: [actor("x.a2", { incarnation: 1, calls: 1, owner: SELF })], actorCount: 1, actorMailbox: 0 } }), T0);
    const p = m.picture(T0 + 1, [driverRunner("a:1"), driverRunner("b:2")], [], 0, [
      mine("x.a1", { queued: 4 }),
      mine("x.a2", { runner: "b:2", restarts: 1 }),
      mine("x.a3", { runner: undefined, state: "restarting", restarts: 2 }), // between two runners: no runner lists it
      mine("x.a4", { state: "dead" }),
    ]);
    expect(p.actors.map((a) => [a.id, a.state, a.runner, a.mailbox, a.running, a.calls, a.restarts, a.queued, a.mine])).toEqual([
      ["x.a3", "restarting", null, null, null, null, 2, 0, true],
      ["x.a1", "alive", "a:1", 2, 1, 3, 0, 4, true],
      ["o.a7", "alive", "a:1", 0, 0, 40, 0, null, false],
      ["x.a2", "alive", "b:2", 0, 0, 1, 1, 0, true],
      ["x.a4", "dead", null, null, null, null, 0, 0, true],
    ]);
    expect(p.actors.find((a) => a.id === "o.a7")).toMatchObject({ className: "Store", name: "cache" });
    expect([p.actorCount, p.actorMailbox]).toEqual([4, 2]); // three on the runners, one restarting
  });

  it("takes this driver's word that an actor ended, and leaves out lost runners' actors", () => {
    const m = model();
    m.heard(activity("a:1", T0, [], { stats: { actors: [actor("x.a1", { mailbox: 1 })], actorCount: 1, actorMailbox: 1 } }), T0);
    m.heard(activity("b:2", T0, [], { stats: { actors: [actor("o.a1")], actorCount: 1, actorMailbox: 0 } }), T0);
    const p = m.picture(T0 + 1, [driverRunner("a:1"), driverRunner("b:2", { alive: false })], [], 0, [mine("x.a1", { state: "dead" })]);
    expect(p.actors.map((a) => [a.id, a.state])).toEqual([["x.a1", "dead"]]);
    expect(p.actorCount).toBe(1); // the runner's count until its next report
  });

  it("bounds the actors a picture lists, and the ended ones among them", () => {
    const m = model({ maxActors: 3, maxDeadActors: 1 });
    m.heard(activity("a:1", T0, [], { stats: { actors: Array.from({ length: 5 }, (_, i) => actor(`o.a${i}`, { mailbox: i })), actorCount: 500, actorMailbox: 900 } }), T0);
    const p = m.picture(T0 + 1, [driverRunner("a:1")], [], 0, [mine("x.d1", { state: "dead" }), mine("x.d2", { state: "dead" })]);
    expect(p.actors.map((a) => a.id)).toEqual(["o.a4", "o.a3", "o.a2"]);
    expect([p.actorCount, p.actorMailbox]).toEqual([500, 900]);
    const few = model({ maxActors: 3, maxDeadActors: 1 }).picture(T0 + 1, [], [], 0, [mine("x.d1", { state: "dead", runner: undefined }), mine("x.d2", { state: "dead", runner: undefined })]);
    expect(few.actors.filter((a) => a.state === "dead").map((a) => a.id)).toEqual(["x.d2"]); // the latest ended
  });

  it("shows a remote error's remote stack and its causes", () => {
    const e = new RemoteError({ message: "boom", remoteName: "TypeError", remoteStack: "TypeError: boom\n    at f (m.ts:3:9)", functionName: "f", runner: "a:1", cause: new RangeError("inner") });
    const info = errorInfo(e);
    expect(info.message).toBe("RemoteError: TypeError: boom (in f on runner a:1)");
    expect(info.stack).toMatch(/^TypeError: boom\n {4}at f \(m\.ts:3:9\)\ncaused by RangeError: inner/);
  });
});
