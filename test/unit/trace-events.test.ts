import { describe, expect, it } from "vitest";
import type { Span } from "../../src/protocol/activity.ts";
import type { TraceCall, TraceData } from "../../src/driver/observe/trace/trace-data.ts";
import { traceEvents } from "../../src/driver/observe/trace/trace-events.ts";
import { inPoint, outPoint, packFlat, packNested, type Slice } from "../../src/driver/observe/trace/tracks.ts";
import { checkTrace, type XEvent } from "../trace-check.ts";

// The trace writer is pure: recorded data in, Trace Event JSON out. Times here are µs on each
// host's own clock; runner B's clock runs 5 s ahead of the driver's.

const T0 = 1_700_000_000_000_000;
const A = "10.0.0.1:7700";
const B = "10.0.0.2:7700";
const SKEW_B = 5_000_000;

let seq = 0;
function call(name: string, submitted: number, settled: number | undefined, sends: [runner: string, id: number, sent: number][], more: Partial<TraceCall> = {}): TraceCall {
  return {
    seq: ++seq, name, label: name, rank: undefined, submitted: T0 + submitted, settled: settled === undefined ? undefined : T0 + settled, ok: true, error: undefined,
    attempts: sends.map(([runner, id, sent]) => ({ runner, id, lanePort: undefined, sent: T0 + sent })), argBytes: 10, deps: [], keep: undefined, ...more,
  };
}

/** A span as runner `runner` reports it: its own clock. */
function span(runner: string, kind: string, name: string, thread: number, start: number, dur: number, more: Partial<Span> = {}): Span {
  return {
    kind, name, thread, start: T0 + start + (runner === B ? SKEW_B : 0), dur, ok: true, owner: "d", callId: null, error: null, bytes: null, detail: null, ...more,
  };
}

function data(calls: TraceCall[], spans: [string, Span[]][], end = 10_000): TraceData {
  return {
    origin: T0, end: T0 + end, driver: { pid: 42, hostname: "here", prefix: "d" }, calls,
    runners: [
      { address: A, hostname: "a", pid: 1, threads: 2, offsetMicros: 0, rttMicros: 100 },
      { address: B, hostname: "b", pid: 2, threads: 2, offsetMicros: SKEW_B + 40, rttMicros: 200 },
    ],
    spans: new Map(spans), dropped: { calls: 0, spans: 0, runnerSpans: 0, unflushed: [] },
  };
}

const driverCalls = (slices: XEvent[]): XEvent[] => slices.filter((s) => s.pid === 1 && s.cat === "call");
const runs = (slices: XEvent[]): XEvent[] => slices.filter((s) => s.pid !== 1 && s.cat === "call");

describe("the trace writer", () => {
  it("writes valid Trace Event JSON: a driver slice per call, a runner slice per run, named, on the driver's clock", () => {
    const calls = [call("add", 0, 900, [[A, 1, 100]]), call("mul", 50, 1_200, [[B, 1, 300]]), call("add", 60, 1_000, [[B, 2, 310]], { ok: false, error: "TypeError: boom" })];
    const file = traceEvents(data(calls, [
      [A, [span(A, "call", "add", 3, 200, 500, { callId: 1, bytes: 10 })]],
      [B, [span(B, "call", "mul", 5, 400, 700, { callId: 1 }), span(B, "call", "add", 6, 420, 300, { callId: 2, ok: false, error: "TypeError: boom" })]],
    ]));
    const t = checkTrace(JSON.parse(JSON.stringify(file)));
    expect(file.displayTimeUnit).toBe("ms");
    expect(driverCalls(t.slices).map((s) => s.name).sort()).toEqual(["add", "add", "mul"]);
    expect(runs(t.slices)).toHaveLength(3);
    for (const c of calls) {
      const d = driverCalls(t.slices).filter((s) => s.args.call === c.seq);
      const r = runs(t.slices).filter((s) => s.args.call === c.seq);
      expect(d).toHaveLength(1);
      expect(r).toHaveLength(1);
      // Runner B's span moved by its offset: inside the driver's send..settle window.
      expect(r[0]!.ts).toBeGreaterThanOrEqual(c.attempts[0]!.sent - T0 - 100);
      expect(r[0]!.ts + r[0]!.dur).toBeLessThanOrEqual(c.settled! - T0 + 100);
    }
    const failed = runs(t.slices).find((s) => s.args.id === 2 && s.pid === 3)!;
    expect(failed.args.error).toBe("TypeError: boom");
    expect([...t.processNames.values()]).toEqual(["driver here (pid 42)", `runner ${A} (a, pid 1, clock +0 ms ±0.05)`, `runner ${B} (b, pid 2, clock +5000.04 ms ±0.1)`]);
    expect(t.threadNames.get("2/1")).toBe("thread 3");
    // Queue wait and attempts inside each driver slice.
    const queued = t.slices.filter((s) => s.cat === "queue");
    expect(queued.map((s) => s.dur).sort((a, b) => a - b)).toEqual([100, 250, 250]);
    expect(t.slices.filter((s) => s.cat === "attempt")).toHaveLength(3);
  });

  it("a DAG: flows from each Ref's producer run to its readers' runs, and to runner-to-runner fetches", () => {
    // Diamond: a -> b, a -> c, (b, c) -> d; c runs on B, which fetches a's object from A first.
    const a = call("fill", 0, 500, [[A, 1, 10]], { keep: "d.1" });
    const b = call("left", 1, 1_000, [[A, 2, 510]], { keep: "d.2", deps: ["d.1"] });
    const c = call("right", 2, 1_100, [[B, 1, 510]], { keep: "d.3", deps: ["d.1"] });
    const d = call("join", 3, 2_000, [[A, 3, 1_110]], { deps: ["d.2", "d.3", "d.2"] });
    const file = traceEvents(data([a, b, c, d], [
      [A, [span(A, "call", "fill", 1, 20, 400, { callId: 1 }), span(A, "call", "left", 1, 600, 300, { callId: 2 }), span(A, "call", "join", 2, 1_200, 700, { callId: 3 })]],
      [B, [span(B, "fetch", "d.1", 0, 550, 100, { bytes: 8_000_000, detail: A, owner: "d" }), span(B, "call", "right", 4, 700, 300, { callId: 1 })]],
    ]));
    const t = checkTrace(JSON.parse(JSON.stringify(file)));
    const name = (s: XEvent): string => `${s.name}@${s.pid}`;
    const refs = t.flows.filter((f) => f.cat === "ref").map((f) => `${name(f.from)} -> ${name(f.to)}`).sort();
    expect(refs).toEqual(["fill@2 -> left@2", "fill@2 -> right@3", "left@2 -> join@2", "right@3 -> join@2"]);
    const fetches = t.flows.filter((f) => f.cat === "fetch");
    expect(fetches.map((f) => `${name(f.from)} -> ${name(f.to)}`)).toEqual(["fill@2 -> fetch@3"]);
    expect(fetches[0]!.to.args).toMatchObject({ object: "d.1", from: A, bytes: 8_000_000 });
    expect(t.threadNames.get(`3/${fetches[0]!.to.tid}`)).toBe("main thread");
  });

  it("a call retried on another runner: one driver slice with an attempt per send, and a runner slice per run that reported", () => {
    const r = call("held", 0, 3_000, [[A, 7, 100], [B, 4, 1_500]]);
    const file = traceEvents(data([r], [
      [A, [span(A, "call", "held", 2, 150, 1_000, { callId: 7, ok: false })]],
      [B, [span(B, "call", "held", 3, 1_600, 1_300, { callId: 4 })]],
    ]));
    const t = checkTrace(JSON.parse(JSON.stringify(file)));
    expect(driverCalls(t.slices)).toHaveLength(1);
    expect(driverCalls(t.slices)[0]!.args).toMatchObject({ attempts: 2, call: r.seq });
    const attempts = t.slices.filter((s) => s.cat === "attempt");
    expect(attempts.map((s) => [s.name, s.ts, s.dur])).toEqual([[`→ ${A}`, 100, 1_400], [`→ ${B}`, 1_500, 1_500]]);
    expect(runs(t.slices).map((s) => [s.pid, s.args.attempt])).toEqual([[2, 1], [3, 2]]);
  });

  it("channel waits and collectives nest inside the call that made them; overlapping calls on a thread take lanes of their own", () => {
    const r0 = call("main", 0, 5_000, [[A, 1, 10]], { rank: 0, label: "main (rank 0)" });
    const r1 = call("main", 0, 5_000, [[A, 2, 10]], { rank: 1, label: "main (rank 1)" });
    const file = traceEvents(data([r0, r1], [[A, [
      span(A, "call", "strand:rank:main", 2, 100, 4_000, { callId: 1 }),
      span(A, "call", "strand:rank:main", 2, 120, 4_100, { callId: 2 }),
      span(A, "collective", "allreduce", 2, 500, 1_000, { detail: "0 0/2", owner: "d" }),
      span(A, "collective", "allreduce", 2, 510, 800, { detail: "1 1/2", owner: "d" }), // inside rank 0's too, by time: nests in its own rank's run
      span(A, "chan", "recv", 2, 3_000, 1_101, { detail: "d.c1" }), // rounded apart: 1 µs past rank 0's end, still inside
    ]]]));
    const t = checkTrace(JSON.parse(JSON.stringify(file)));
    const rankRuns = runs(t.slices).sort((a, b) => a.ts - b.ts);
    expect(rankRuns.map((s) => [s.name, s.args.rank])).toEqual([["main (rank 0)", 0], ["main (rank 1)", 1]]);
    expect(rankRuns[0]!.tid).not.toBe(rankRuns[1]!.tid);
    const colls = t.slices.filter((s) => s.cat === "collective").sort((a, b) => a.ts - b.ts);
    expect(colls.map((s) => [s.name, s.args.rank, s.args.size])).toEqual([["allreduce", 0, 2], ["allreduce", 1, 2]]);
    expect(colls.map((s) => s.tid)).toEqual(rankRuns.map((s) => s.tid));
    const wait = t.slices.find((s) => s.cat === "chan")!;
    expect(wait).toMatchObject({ name: "chan recv", tid: rankRuns[0]!.tid, args: { channel: "d.c1" } });
    expect(wait.ts + wait.dur).toBe(rankRuns[0]!.ts + rankRuns[0]!.dur);
    expect(t.threadNames.get(`2/${rankRuns[1]!.tid}`)).toBe("thread 2 · 2");
  });

  it("says what is missing: calls unfinished at the stop, runner spans it cannot match, drops", () => {
    const open = call("slow", 0, undefined, [[A, 1, 10]]);
    const d = data([open], [[A, [span(A, "call", "other", 1, 50, 10, { callId: 99 })]]], 2_000);
    d.dropped = { calls: 3, spans: 1, runnerSpans: 2, unflushed: [B] };
    const file = traceEvents(d);
    const t = checkTrace(JSON.parse(JSON.stringify(file)));
    expect(driverCalls(t.slices)[0]).toMatchObject({ ts: 0, dur: 2_000, args: { unfinished: true } });
    expect(runs(t.slices)[0]!.args.unmatched).toBe(true);
    const note = file.traceEvents.find((e) => e.ph === "i")!;
    expect(note).toMatchObject({ name: "trace incomplete", args: { droppedCalls: 3, droppedSpans: 3, runnersNotFlushed: [B] } });
    expect(file.otherData.dropped).toEqual(d.dropped);
  });
});

describe("laying out tracks", () => {
  const s = (ts: number, end: number, topLevel = true): Slice => ({ ts, end, topLevel, lane: -1, children: undefined });

  it("nests what fits, gives overlapping calls their own lanes, and keeps calls out of calls", () => {
    const a = s(0, 100);
    const b = s(10, 50); // a call inside a's time: not its child
    const w = s(20, 30, false); // a wait: inside the innermost open slice
    const c = s(100, 150); // after a: back on lane 0
    expect(packNested([a, b, w, c])).toBe(2);
    expect([a.lane, b.lane, w.lane, c.lane]).toEqual([0, 1, 0, 0]);
    expect(a.children).toEqual([w]);
  });

  it("a wait that outlived its call (an SPMD rank's abort listener) holds nothing", () => {
    const run = s(0, 100);
    const wait = s(10, 500, false);
    const collective = s(200, 300, false); // inside the wait by time, yet not its child
    expect(packNested([run, wait, collective])).toBe(2);
    expect([run.lane, wait.lane, collective.lane]).toEqual([0, 1, 0]);
    expect(wait.children).toBeUndefined();
  });

  it("a collective goes into its own rank's run even when a wait of unknown owner came first and overlaps it", () => {
    // The failure seen on a real runner: another rank's wait was put into rank 0's run by time, and
    // rank 0's collective, overlapping that wait, went into rank 1's run.
    const r0 = { ...s(0, 1000), key: "rank 0" };
    const r1 = { ...s(10, 1010), key: "rank 1" };
    const wait = s(300, 400, false);
    const c0 = { ...s(350, 900, false), want: "rank 0" };
    const c1 = { ...s(360, 950, false), want: "rank 1" };
    expect(packNested([r0, r1, wait, c0, c1])).toBe(3);
    expect([c0.lane, c1.lane]).toEqual([r0.lane, r1.lane]);
    expect(r0.children).toEqual([c0]);
    expect(r1.children).toEqual([c1]);
    expect(wait.lane).toBe(2); // it fits cleanly inside neither run: a lane of its own
  });

  it("interval partitioning uses as many lanes as calls overlap at most, the lowest free first", () => {
    const xs = [s(0, 10), s(1, 5), s(2, 20), s(5, 8), s(10, 12), s(30, 40)];
    expect(packFlat(xs)).toBe(3);
    expect(xs.map((x) => x.lane)).toEqual([0, 1, 2, 1, 0, 0]);
  });

  it("flows bind outside children: leaving late, arriving early", () => {
    const p = s(0, 100);
    p.children = [s(0, 40, false), s(60, 100, false)];
    expect(outPoint(p)).toBe(50);
    expect(inPoint(p)).toBe(50);
    expect(outPoint(s(0, 10))).toBe(5);
  });
});
