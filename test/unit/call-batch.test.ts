import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { BATCH_MAX, FrameBatch, readCalls, readResults, RESULT_INLINE, RESULT_OK } from "../../src/protocol/call-batch.ts";
import { decodeValue, decodeValueIn, encodeValue } from "../../src/protocol/codec.ts";
import { frameOf, T, type Header, type Message } from "../../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../../src/protocol/read-header.ts";
import { wire } from "./wire.ts";

// Batched frames (protocol/call-batch.ts): the calls of a turn in one T.Calls frame, the
// results in one T.Results frame, their bodies side by side in one segment. Here: what goes
// in comes out, through the outbox and the frame decoder as on a connection, and a batch that
// does not add up is refused.


describe("batched calls and results", () => {
  it("calls come out as they went in: ids, modules, names (each sent once) and arguments", () => {
    const b = new FrameBatch(T.Calls);
    const args = [[], [1, "two", null], [{ deep: [3n] }]];
    args.forEach((a, i) => b.call(10 + i, i % 2, i === 1 ? "echo" : "add", encodeValue(a, "args").body));
    expect(b.size).toBe(3);
    const [frame] = wire([b.take()]);
    expect(b.size).toBe(0);
    const h = readHeader(frame!, ANY_MESSAGE) as Message<T.Calls>;
    expect(h[1]).toEqual(["add", "echo"]);
    const seen: unknown[] = [];
    readCalls(h, frame!, (id, ref, name, body) => seen.push([id, ref, name, decodeValue(body)]));
    expect(seen).toEqual(args.map((a, i) => [10 + i, i % 2, i === 1 ? "echo" : "add", a]));
  });

  it("results come out as they went in, flags and run times too, each decoded in place", () => {
    const b = new FrameBatch(T.Results);
    const values = [undefined, 42, "x".repeat(300), [1.5, -2]];
    values.forEach((v, i) => b.result(i + 1, i === 2 ? RESULT_OK | RESULT_INLINE : i === 3 ? 0 : RESULT_OK, 7.4 + i, encodeValue(v, "result").body));
    const [frame] = wire([b.take()]);
    const seen: unknown[] = [];
    readResults(readHeader(frame!, ANY_MESSAGE) as Message<T.Results>, frame!, (id, flags, micros, bodies, start, end) =>
      seen.push([id, flags, micros, decodeValueIn(bodies, start, end)]));
    expect(seen).toEqual([[1, 1, 7, undefined], [2, 1, 8, 42], [3, 3, 9, "x".repeat(300)], [4, 0, 10, [1.5, -2]]]);
  });

  it("a batch says when it is full, and starts empty again once taken", () => {
    const b = new FrameBatch(T.Results);
    const body = encodeValue(1, "result").body;
    for (let i = 0; i < BATCH_MAX; i++) b.result(i, RESULT_OK, 0, body);
    expect(b.full(body.byteLength)).toBe(true);
    b.take();
    expect(b.full(body.byteLength)).toBe(false);
    expect(b.full(64 * 1024)).toBe(true);
  });

  it("a batch that does not add up is refused", () => {
    const body = encodeValue([], "args").body;
    const calls = (names: string[], ints: number[], ...segs: Uint8Array[]): void =>
      readCalls([T.Calls, names, ints], [frameOf([T.Calls, names, ints] as Header)[0]!, ...segs], () => {});
    const results = (ints: number[], ...segs: Uint8Array[]): void =>
      readResults([T.Results, ints], [frameOf([T.Results, ints] as Header)[0]!, ...segs], () => {});
    expect(() => calls(["f"], [1, 1, 0], body)).toThrow(ProtocolError);
    expect(() => calls(["f"], [1, 1, 1, body.byteLength], body)).toThrow(new ProtocolError("malformed Calls: an export name index out of range"));
    expect(() => calls(["f"], [1, 1, 0, body.byteLength + 1], body)).toThrow(ProtocolError);
    expect(() => calls(["f"], [1, 1, 0, body.byteLength])).toThrow(new ProtocolError("malformed Calls: one segment of bodies expected"));
    expect(() => results([1, 1, 0, 0], new Uint8Array(0))).toThrow(new ProtocolError("malformed Results: an entry's body is empty"));
    expect(() => results([1, 9, 0, 1], Uint8Array.of(0xc0))).toThrow(new ProtocolError("malformed Results: unknown flags"));
    expect(() => results([1, 1, 0, 1], Uint8Array.of(0xc0), Uint8Array.of(0xc0))).toThrow(ProtocolError);
  });
});
