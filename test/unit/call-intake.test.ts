import { describe, expect, it } from "vitest";
import { ObjectLostError, ObjectStoreFullError, ProtocolError } from "../../src/errors.ts";
import { decodeError, decodeSegments, encodeSegments } from "../../src/protocol/codec.ts";
import { INLINE_MAX, T, type Dep } from "../../src/protocol/messages.ts";
import { gatherInputs, keptOutcome, laneInputs, readCall, type CallHeader } from "../../src/runner/call-intake.ts";
import type { StoredObject } from "../../src/runner/object-store.ts";
import type { CallOutcome } from "../../src/runner/task.ts";

// How a runner reads a Call frame, wherever it came in (its main link or a thread's lane).

const header = new Uint8Array([0]); // segment 0: readCall does not decode it again
const seg = (n: number): Uint8Array => new Uint8Array([n]);

interface Extra { keep?: string | null; solo?: boolean; concurrent?: boolean }

/** A Call frame's header (call 7 of module 3's export "f") and its segments, read. */
function read(deps: Dep[] | null, segs: Uint8Array[], extra: Extra = {}): ReturnType<typeof readCall> {
  const h: CallHeader = [T.Call, 7, 3, "f", extra.solo ?? false, deps, extra.keep ?? null, extra.concurrent ?? false];
  return readCall(h, segs);
}

const stored = (segments: Uint8Array[]): StoredObject => ({ segments, bytes: 0, owner: {} });

describe("readCall", () => {
  it("a plain call: every segment after the header is an argument; its flags and kept id as sent", () => {
    const segs = [header, seg(1), seg(2)];
    const c = read(null, segs, { keep: "p.9", solo: true, concurrent: true });
    expect(c).toMatchObject({ id: 7, moduleRef: 3, exportName: "f", solo: true, concurrent: true, keep: "p.9", inline: undefined, stored: undefined });
    expect(c.args).toEqual([seg(1), seg(2)]);
    expect(read([], segs).args).toEqual([seg(1), seg(2)]); // no inputs is no inputs, however sent
    expect(read(null, segs).keep).toBeUndefined();
  });

  it("inline inputs are the last segments, each its count, in the order listed; stored inputs name their holder", () => {
    const segs = [header, seg(1), seg(2), seg(10), seg(20), seg(21)];
    const c = read([["p.1", null, 1], ["p.2", "10.0.0.2:7700"], ["p.3", null, 2], ["p.4", null]], segs);
    expect(c.args).toEqual([seg(1), seg(2)]);
    expect(c.inline).toEqual([["p.1", [seg(10)]], ["p.3", [seg(20), seg(21)]]]);
    expect(c.stored).toEqual([["p.2", "10.0.0.2:7700"], ["p.4", null]]);
  });

  it("throws ProtocolError for a frame that does not add up", () => {
    const bad: [string, Dep[] | null, Uint8Array[]][] = [
      ["no arguments", null, [header]],
      ["more inline segments than the frame has", [["p.1", null, 2]], [header, seg(1), seg(2)]],
      ["inline segments eating the arguments", [["p.1", null, 1]], [header, seg(1)]],
      ["an inline input of no segments", [["p.1", null, 0]], [header, seg(1), seg(2)]],
      ["a negative count", [["p.1", null, 2], ["p.2", null, -1]], [header, seg(1), seg(2)]],
      ["a fractional count", [["p.1", null, 0.5], ["p.2", null, 0.5]], [header, seg(1), seg(2)]],
      ["a dependency that is not a list", ["p.1" as unknown as Dep], [header, seg(1)]],
      ["an id that is not a string", [[1 as unknown as string, null]], [header, seg(1)]],
      ["a holder that is not a string", [["p.1", 7 as unknown as string]], [header, seg(1)]],
    ];
    for (const [what, deps, segs] of bad) expect(() => read(deps, segs), what).toThrow(ProtocolError);
  });
});

describe("laneInputs", () => {
  it("passes inline inputs; refuses a stored one, which a thread (without a store) cannot read", () => {
    const segs = [header, seg(1), seg(10)];
    expect(laneInputs(read([["p.1", null, 1]], segs))).toEqual([["p.1", [seg(10)]]]);
    expect(laneInputs(read(null, segs))).toBeUndefined();
    expect(() => laneInputs(read([["p.1", null, 1], ["p.2", null]], segs))).toThrow(ProtocolError);
  });
});

describe("gatherInputs", () => {
  const segs = [header, seg(1), seg(10)];

  it("everything at hand: answers at once, inline and stored inputs together", () => {
    const asked: [string, string | null][] = [];
    const deps = gatherInputs(read([["p.1", null, 1], ["p.2", "r:1"], ["p.3", null]], segs), (id, holder) => {
      asked.push([id, holder]);
      return stored([seg(id.length + Number(id.slice(2)))]);
    });
    expect(deps).toEqual([["p.1", [seg(10)]], ["p.2", [seg(5)]], ["p.3", [seg(6)]]]);
    expect(asked).toEqual([["p.2", "r:1"], ["p.3", null]]);
    expect(gatherInputs(read([["p.1", null, 1]], segs), () => expect.unreachable())).toEqual([["p.1", [seg(10)]]]);
    expect(gatherInputs(read(null, segs), () => expect.unreachable())).toBeUndefined();
  });

  it("one input on its way: a promise of them all; a lost one fails it", async () => {
    const c = read([["p.2", "r:1"], ["p.3", null]], segs);
    const later = gatherInputs(c, (id) => (id === "p.2" ? Promise.resolve(stored([seg(2)])) : stored([seg(3)])));
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toEqual([["p.2", [seg(2)]], ["p.3", [seg(3)]]]);
    const lost = gatherInputs(c, (id) => Promise.reject(new ObjectLostError(id, "holder gone")));
    await expect(lost).rejects.toBeInstanceOf(ObjectLostError);
  });
});

describe("keptOutcome", () => {
  const outcome = (value: unknown, ok = true): CallOutcome => ({ id: 4, ok, segments: encodeSegments(value, "result"), execMicros: 9 });
  const big = new Uint8Array(INLINE_MAX + 1);

  it("a failure is answered as it is, and nothing is stored", () => {
    const failed = outcome(new Error("boom"), false);
    expect(keptOutcome("p.1", failed, () => expect.unreachable())).toBe(failed);
  });

  it("a small result goes back whole, marked inline: the driver keeps it; nothing is stored", () => {
    const o = keptOutcome("p.1", outcome(new Uint8Array(INLINE_MAX - 64)), () => expect.unreachable());
    expect(o.inline).toBe(true);
    expect((decodeSegments(o.segments) as Uint8Array).byteLength).toBe(INLINE_MAX - 64);
  });

  it("a big result is stored under its id and only its size goes back", () => {
    const kept: [string, number][] = [];
    const o = keptOutcome("p.1", outcome(big), (id, segments) => {
      kept.push([id, segments.length]);
      return 12345;
    });
    expect(kept).toEqual([["p.1", 2]]); // body + the array as an attachment
    expect(o).toMatchObject({ id: 4, ok: true, execMicros: 9 });
    expect(o.inline).toBeUndefined();
    expect(decodeSegments(o.segments)).toBe(12345);
  });

  it("a store that refuses (full) turns the answer into its error", () => {
    const o = keptOutcome("p.1", outcome(big), () => {
      throw new ObjectStoreFullError(1, 2, 3);
    });
    expect(o.ok).toBe(false);
    expect(decodeError(o.segments)).toBeInstanceOf(ObjectStoreFullError);
  });

  it("a store across threads answers later, with the size or the error", async () => {
    const later = keptOutcome("p.1", outcome(big), () => Promise.resolve(77));
    expect(later).toBeInstanceOf(Promise);
    expect(decodeSegments((await later).segments)).toBe(77);
    const refused = await keptOutcome("p.1", outcome(big), () => Promise.reject(new ObjectLostError("p.1", "its driver is not connected")));
    expect(refused.ok).toBe(false);
    expect(decodeError(refused.segments)).toBeInstanceOf(ObjectLostError);
  });
});
