import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { BATCH_MAX } from "../../src/protocol/call-batch.ts";
import { GraphCallBatch, readGraphCalls } from "../../src/protocol/graph-call-batch.ts";
import { decodeValue, encodeValue } from "../../src/protocol/codec.ts";
import { frameOf, T, type Message } from "../../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../../src/protocol/read-header.ts";
import { wire } from "./wire.ts";

// Batched graph calls (protocol/graph-call-batch.ts): the graph calls of a turn whose inputs
// came back inline, in one T.GraphCalls frame, arguments and inputs side by side in one
// segment. What goes in comes out, through the outbox and the frame decoder as on a
// connection; a frame that does not add up is refused before any of its calls is read.


type Seen = [number, number, string, unknown, string | undefined, [string, unknown][] | undefined];

function read(frame: Uint8Array[]): Seen[] {
  const seen: Seen[] = [];
  readGraphCalls(readHeader(frame, ANY_MESSAGE) as Message<T.GraphCalls>, frame, (id, ref, name, args, keep, inline) =>
    seen.push([id, ref, name, decodeValue(args), keep, inline?.map(([objectId, segs]) => {
      expect(segs).toHaveLength(1);
      return [objectId, decodeValue(segs[0]!)] as [string, unknown];
    })]));
  return seen;
}

describe("batched graph calls", () => {
  it("calls come out as they went in: ids, modules, names, keep ids, arguments and each input's id and value", () => {
    const b = new GraphCallBatch();
    const enc = (v: unknown): Uint8Array => encodeValue(v, "v").body;
    b.call(1, 1, "task", "d.1", enc([1, 2, []]), 0);
    b.call(2, 1, "task", "d.2", enc([3, 4, ["ref"]]), 1);
    b.input("d.1", enc({ x: 7, us: 1.5 }));
    b.call(3, 2, "join", undefined, enc(["a", "b"]), 2); // reads objects, keeps nothing
    b.input("d.1", enc({ x: 7, us: 1.5 }));
    b.input("d.2", enc("x".repeat(300)));
    expect(b.size).toBe(3);
    const [frame] = wire([b.take()]);
    expect(b.size).toBe(0);
    expect(read(frame!)).toEqual([
      [1, 1, "task", [1, 2, []], "d.1", undefined],
      [2, 1, "task", [3, 4, ["ref"]], "d.2", [["d.1", { x: 7, us: 1.5 }]]],
      [3, 2, "join", ["a", "b"], undefined, [["d.1", { x: 7, us: 1.5 }], ["d.2", "x".repeat(300)]]],
    ]);
    // Taken, it starts over: a second turn's batch names only its own calls.
    b.call(9, 1, "join", "d.9", enc([]), 0);
    expect(read(wire([b.take()])[0]!)).toEqual([[9, 1, "join", [], "d.9", undefined]]);
  });

  it("a batch says when it is full", () => {
    const b = new GraphCallBatch();
    const body = encodeValue([1], "args").body;
    expect(b.full(64 * 1024)).toBe(true);
    for (let i = 0; i < BATCH_MAX; i++) b.call(i, 1, "task", `d.${i}`, body, 0);
    expect(b.full(1)).toBe(true);
    b.take();
    expect(b.full(body.byteLength)).toBe(false);
  });

  it("refuses a frame that does not add up, and reads none of its calls", () => {
    const body = Uint8Array.of(0x90, 0x91, 0x01); // [] and [1]
    const bad: [string, Message<T.GraphCalls>, Uint8Array[] | undefined][] = [
      ["cut short", [T.GraphCalls, ["f"], [1, 1, 0, 0, 1], []], undefined],
      ["an export name index out of range", [T.GraphCalls, ["f"], [1, 1, 1, 0, 1, 0], []], undefined],
      ["unknown flags", [T.GraphCalls, ["f"], [1, 1, 0, 2, 1, 0], []], undefined],
      ["a call without arguments", [T.GraphCalls, ["f"], [1, 1, 0, 0, 0, 0], []], undefined],
      ["inputs are cut short", [T.GraphCalls, ["f"], [1, 1, 0, 0, 1, 2, 2], ["d.1"]], undefined],
      ["an input is empty", [T.GraphCalls, ["f"], [1, 1, 0, 0, 1, 1, 0], ["d.1"]], undefined],
      ["bytes of bodies", [T.GraphCalls, ["f"], [1, 1, 0, 0, 1, 0], []], undefined],
      ["objects", [T.GraphCalls, ["f"], [1, 1, 0, 1, 1, 1, 2], ["d.1"]], undefined],
      ["one segment of bodies", [T.GraphCalls, ["f"], [1, 1, 0, 0, 1, 0], []], [body.subarray(0, 1), body.subarray(1)]],
    ];
    for (const [what, h, payload] of bad) {
      const frame = payload === undefined ? [frameOf(h)[0]!, body] : [frameOf(h)[0]!, ...payload];
      const seen: number[] = [];
      expect(() => readGraphCalls(h, frame, (id) => seen.push(id)), what).toThrow(ProtocolError);
      expect(() => readGraphCalls(h, frame, (id) => seen.push(id)), what).toThrow(what);
      expect(seen, what).toEqual([]);
    }
  });
});
