import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { frameOf, MESSAGES, T, type Header, type Message } from "../../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader, reads } from "../../src/protocol/read-header.ts";
import { fieldNames, INFO, nonce, SAMPLES, STATS, TYPES, withField, WRONG } from "../message-samples.ts";

// The message table (protocol/messages.ts) is the one description of every header: held to
// the wire here. That every side reads through it: header-checks.test.ts.

describe("the message table", () => {
  it("every message round-trips through frameOf and readHeader", () => {
    for (const t of TYPES) expect(readHeader(frameOf(SAMPLES[t]), ANY_MESSAGE), T[t]).toEqual(SAMPLES[t]);
  });

  it("maybe fields may be left out, or sent as null to reach a later one", () => {
    for (const h of [
      [T.Call, 1, 1, "add", false], [T.Call, 1, 1, "add", false, null, null, true], [T.Result, 1, false, 0], [T.Result, 1, false, 0, false, true],
      [T.Fetch, 1, "d.1"], [T.ChanOp, 0, { op: "csend", chan: "d.c1" }, [1]], [T.ChanReply, 1, true, 0, true], [T.ChanReply, 1, true, 0, false, null, 2],
    ] satisfies Header[]) {
      expect(readHeader(frameOf(h), ANY_MESSAGE)).toEqual(h);
    }
  });

  it("a field of the wrong type is refused, naming the message and the field", () => {
    for (const t of TYPES) {
      fieldNames(t).forEach((name, i) => {
        expect(() => readHeader(frameOf(withField(t, i + 1, WRONG)), ANY_MESSAGE), `${T[t]}.${name}`)
          .toThrow(new ProtocolError(`malformed ${T[t]}: ${name} is not ${MESSAGES[t].fields[i]![1].says}`));
      });
    }
  });

  it("what is inside a field is checked too: dependencies, select cases, pointers, runner info and statistics", () => {
    const bad: [Header, RegExp][] = [
      [withField(T.Call, 5, [["d.1", 3]]), /Call: deps is not a list, each an object dependency/],
      [withField(T.Call, 5, [["d.1", null, "2"]]), /Call: deps/],
      [withField(T.Call, 5, [["d.1", null, 1, 2]]), /Call: deps/],
      [withField(T.Call, 2, 1.5), /Call: moduleRef is not an integer/],
      [withField(T.ChanOp, 2, { op: "select", cases: [{ op: "close", chan: "d.c1" }], default: false }), /ChanOp: request is not a channel operation/],
      [withField(T.ChanOp, 2, { op: "send" }), /ChanOp: request/],
      [withField(T.ChanOp, 2, { op: "select", cases: [], default: false, timeout: "soon" }), /ChanOp: request/],
      [withField(T.ChanOp, 3, [1, "2"]), /ChanOp: sizes is not a list, each an integer/],
      [withField(T.ChanReply, 5, ["d.1"]), /ChanReply: pointer is not a value pointer/],
      [withField(T.Welcome, 1, { ...INFO, maxFrame: "big" }), /Welcome: info is not runner info/],
      [withField(T.Welcome, 1, [INFO]), /Welcome: info/],
      [withField(T.Stats, 2, { ...STATS, calls: undefined }), /Stats: stats is not runner statistics/],
      [withField(T.Lanes, 1, [4000.5]), /Lanes: ports/],
      [withField(T.Free, 1, ["d.1", 2]), /Free: objectIds/],
    ];
    for (const [h, message] of bad) expect(() => readHeader(frameOf(h), ANY_MESSAGE), JSON.stringify(h)).toThrow(message);
  });

  it("too few fields or too many are refused; the handshake's first messages may carry more (a later version's)", () => {
    expect(() => readHeader(frameOf([T.Put, 1] as unknown as Header), ANY_MESSAGE)).toThrow("malformed Put: 1 fields");
    expect(() => readHeader(frameOf([...SAMPLES[T.Call], 1] as unknown as Header), ANY_MESSAGE)).toThrow("malformed Call: 8 fields");
    expect(() => readHeader(frameOf([T.Draining, null] as unknown as Header), ANY_MESSAGE)).toThrow("malformed Draining: 1 fields");
    for (const t of [T.Hello, T.Challenge, T.Refused]) {
      const longer = [...SAMPLES[t], "a later version's field"] as Header;
      expect(readHeader(frameOf(longer), ANY_MESSAGE)).toEqual(longer);
    }
    expect(() => readHeader(frameOf([T.Auth, nonce, 1] as unknown as Header), ANY_MESSAGE)).toThrow("malformed Auth");
  });

  it("a reader takes only its own messages, and its errors say where they came from", () => {
    const lane = reads("on a lane", T.Result, T.Heartbeat);
    const h: Message<T.Result | T.Heartbeat> = readHeader(frameOf(SAMPLES[T.Result]), lane);
    expect(h).toEqual(SAMPLES[T.Result]);
    expect(() => readHeader(frameOf(SAMPLES[T.Call]), lane)).toThrow(new ProtocolError("unexpected message Call on a lane"));
    expect(() => readHeader(frameOf([99] as unknown as Header), lane)).toThrow(new ProtocolError("unexpected message type 99 on a lane"));
    expect(() => readHeader(frameOf(["10"] as unknown as Header), lane)).toThrow(new ProtocolError("unexpected message type 10 on a lane"));
    expect(() => readHeader([Uint8Array.of(0x0a)], lane)).toThrow(new ProtocolError("header is not a message"));
    expect(() => readHeader([], lane)).toThrow(new ProtocolError("empty frame"));
  });

  it("the wire keeps protocol 1's numbers and tuples; version 2 added Watch, Activity and Log, and Owner's logs, then the head's Join, Leave, Subscribe and Members (which no runner or driver of 2 ever receives, so still 2)", () => {
    expect(Object.fromEntries(TYPES.map((t) => [T[t], t]))).toEqual({
      Hello: 1, Challenge: 2, Auth: 3, Welcome: 4, Refused: 5, Module: 9, Call: 10, Cancel: 11, Result: 12, CodeRequest: 13, Code: 14,
      Heartbeat: 15, StatsRequest: 16, Stats: 17, Lanes: 18, Put: 19, Fetch: 20, Object: 21, Free: 22, Pull: 23, Done: 24, Owner: 25,
      ChanOp: 26, ChanReply: 27, ChanCancel: 28, ChanRevoke: 29, ChanReturn: 30, RankHello: 31, RankMessage: 32, Draining: 33,
      Watch: 34, Activity: 35, Log: 36, Join: 37, Leave: 38, Subscribe: 39, Members: 40, Go: 41, ActorState: 42,
      Calls: 43, Results: 44, GraphCalls: 45, RankBytes: 46,
    });
    // Written by the code before the table, for the same headers.
    const hex = (h: Header): string => Buffer.from(frameOf(h)[0]!).toString("hex");
    expect(hex([T.Call, 7, 1, "add", false])).toBe("950a0701a3616464c2");
    expect(hex([T.Call, 7, 1, "add", false, [["d.3", null, 1]], "d.4", true])).toBe("980a0701a3616464c29193a3642e33c001a3642e34c3");
    expect(hex([T.Result, 7, true, 12, true])).toBe("950c07c30cc3");
    expect(hex(SAMPLES[T.ChanReply])).toBe("971b01c300c292a3642e31c004");
  });
});
