import { describe, expect, it } from "vitest";
import { fromTuple, type SpanTuple } from "../../src/protocol/activity.ts";
import { ThreadSpans } from "../../src/runner/activity/thread-spans.ts";
import { LANE_COUNTER, LANE_COUNTERS } from "../../src/runner/thread-messages.ts";

/** A thread's span buffer with the watching counter set as the main thread would; what it posts, decoded. */
function buffer(mode: number): { spans: ThreadSpans; posted: () => SpanTuple[] } {
  const counters = new Int32Array(LANE_COUNTERS);
  counters[LANE_COUNTER.watching] = mode;
  let out: SpanTuple[] = [];
  const spans = new ThreadSpans(counters, (json) => {
    out = out.concat(JSON.parse(json) as SpanTuple[]);
  });
  return { spans, posted: () => (spans.flush(), out) };
}

const call = (name: string, start: number, dur: number, ok = true, owner = "d"): SpanTuple =>
  ["call", name, 1, start, dur, ok, owner, 7, ok ? null : "E: x", 10];

describe("a thread's spans, merged for a task stream", () => {
  it("fold back-to-back calls of one function into one span that counts them and their run time", () => {
    const b = buffer(1 + 100); // merge gaps up to 100 µs
    b.spans.add(call("f", 1000, 20));
    b.spans.add(call("f", 1050, 20)); // 30 µs after the last ended
    b.spans.add(call("f", 1100, 30));
    const [only, ...rest] = b.posted().map(fromTuple);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ name: "f", start: 1000, dur: 130, count: 3, busy: 70, callId: null, bytes: 30, ok: true });
  });

  it("keep apart other functions, other drivers, failures, and calls after a longer gap", () => {
    const b = buffer(1 + 100);
    b.spans.add(call("f", 0, 10));
    b.spans.add(call("g", 20, 10)); // another function
    b.spans.add(call("g", 40, 10, true, "other")); // another driver
    b.spans.add(call("g", 60, 10, false, "other")); // a failure stays itself
    b.spans.add(call("g", 80, 10, true, "other")); // the last held call failed: not merged into it
    b.spans.add(call("g", 500, 10, true, "other")); // 410 µs later
    b.spans.add(["chan", "d.c1", 1, 600, 5, true, "d", null, null, null, "d.c1"]);
    const got = b.posted().map(fromTuple);
    expect(got.map((s) => [s.kind, s.name, s.owner, s.ok, s.count])).toEqual([
      ["call", "f", "d", true, 1], ["call", "g", "d", true, 1], ["call", "g", "other", true, 1], ["call", "g", "other", false, 1],
      ["call", "g", "other", true, 1], ["call", "g", "other", true, 1], ["chan", "d.c1", "d", true, 1],
    ]);
  });

  it("keep every call its own span when a watcher wants them all (a trace), and nothing merges across a flush", () => {
    const all = buffer(1);
    all.spans.add(call("f", 0, 10));
    all.spans.add(call("f", 10, 10));
    expect(all.posted().map((s) => fromTuple(s).count)).toEqual([1, 1]);
    const b = buffer(1 + 100);
    b.spans.add(call("f", 0, 10));
    b.spans.flush();
    b.spans.add(call("f", 20, 10));
    expect(b.posted().map((s) => fromTuple(s).count)).toEqual([1, 1]);
  });
});
