import { describe, expect, it } from "vitest";
import pino from "pino";
import type { CallSite, PendingCall } from "../../src/driver/calls/call.ts";
import { ObjectEntry } from "../../src/driver/objects/object-entry.ts";
import { Observers } from "../../src/driver/observe/observers.ts";
import { TraceRecorder } from "../../src/driver/observe/trace/recorder.ts";
import { makeCall } from "./fake-call.ts";

// The recorder keeps calls in typed columns and runners' spans as the JSON they came in; what
// it hands the writer must be what the calls did.

const quiet = pino({ level: "silent" });
const site = (address: string): CallSite => ({ address }) as unknown as CallSite;
const send = (call: PendingCall, address: string, id: number, lanePort?: number): void => {
  call.link = site(address);
  call.id = id;
  call.lanePort = lanePort;
  call.markSent();
};
const json = (spans: unknown[]): Uint8Array => new TextEncoder().encode(JSON.stringify(spans));

describe("the trace recorder", () => {
  it("records each call once: made, its sends (a retry is a second), settled, its Refs", () => {
    const obs = new Observers(quiet);
    const rec = new TraceRecorder({ prefix: "d" });
    obs.add(rec);
    const made = new ObjectEntry("d.1", undefined);
    const a = makeCall("fill");
    a.call.keep = made;
    const b = makeCall("sum", { deps: [made, made] });
    const c = makeCall("main", { rank: 2 });
    for (const x of [a, b, c]) obs.submitted(x.call);
    send(a.call, "r1:1", 5, 4001);
    send(b.call, "r1:1", 6);
    send(b.call, "r2:1", 1); // lost with r1, sent again
    send(c.call, "r2:1", 2);
    a.call.resolve({ bytes: 8 });
    b.call.resolve(3);
    c.call.reject(new RangeError("no"));
    const calls = rec.calls();
    expect(calls.map((x) => [x.name, x.label, x.rank, x.ok, x.error])).toEqual([
      ["fill", "fill", undefined, true, undefined], ["sum", "sum", undefined, true, undefined], ["main", "main (rank 2)", 2, false, "RangeError: no"],
    ]);
    expect(calls[0]).toMatchObject({ keep: "d.1", deps: [], attempts: [{ runner: "r1:1", id: 5, lanePort: 4001 }] });
    expect(calls[1]!.deps).toEqual(["d.1", "d.1"]);
    expect(calls[1]!.attempts.map((x) => [x.runner, x.id, x.lanePort])).toEqual([["r1:1", 6, undefined], ["r2:1", 1, undefined]]);
    for (const x of calls) {
      expect(x.settled).toBeGreaterThanOrEqual(x.attempts.at(-1)!.sent);
      expect(x.attempts[0]!.sent).toBeGreaterThanOrEqual(x.submitted);
    }
    expect(new Set(calls.map((x) => x.seq)).size).toBe(3);
  });

  it("a call made before the trace is recorded from its first event; one unsettled at the end is open", () => {
    const obs = new Observers(quiet);
    const early = makeCall("early");
    obs.submitted(early.call);
    send(early.call, "r1:1", 1);
    const rec = new TraceRecorder({ prefix: "d" });
    obs.add(rec);
    const open = makeCall("open");
    obs.submitted(open.call);
    early.call.resolve(1);
    const e = rec.calls().find((x) => x.name === "early");
    const o = rec.calls().find((x) => x.name === "open");
    expect(e).toMatchObject({ name: "early", ok: true, attempts: [{ runner: "r1:1", id: 1 }] });
    expect(o).toMatchObject({ name: "open", settled: undefined, attempts: [] });
  });

  it("keeps at most maxCalls calls and maxSpans spans, counting the rest", () => {
    const obs = new Observers(quiet);
    const rec = new TraceRecorder({ prefix: "d", maxCalls: 2, maxSpans: 3 });
    obs.add(rec);
    const calls = Array.from({ length: 5 }, (_, i) => makeCall(`f${i}`));
    for (const x of calls) obs.submitted(x.call);
    for (const x of calls) x.call.resolve(0);
    expect(rec.calls().map((x) => x.name)).toEqual(["f0", "f1"]);
    expect(rec.droppedCalls).toBe(3);
    const span = (owner: string, id: number): unknown[] => ["call", "f", 1, 1e15, 5, true, owner, id, null, 3];
    rec.heard("r1:1", 2, [json([span("d", 1), span("other", 1)])], 1);
    rec.heard("r1:1", 2, [json([span("d", 2), span("d", 3)])], 0); // over the bound: dropped whole
    rec.heard("r2:1", 1, [json([span("d", 4)]), new TextEncoder().encode("[not json")], 0);
    const spans = rec.spans();
    expect(spans.get("r1:1")!.map((s) => s.callId)).toEqual([1]); // another driver's left out
    expect(spans.get("r2:1")!.map((s) => s.callId)).toEqual([4]);
    expect(rec.runnerDropped).toBe(1);
    expect(rec.droppedSpans).toBe(3); // two over the bound, one chunk that did not decode
  });
});
