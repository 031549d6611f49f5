import fc from "fast-check";
import { frameOf, PROTOCOL_VERSION, T, type Header, type Member } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader, reads } from "../src/protocol/read-header.ts";
import { LANE_READS } from "../src/runner/lane.ts";
import { SESSION_READS } from "../src/runner/session.ts";
import { DEFAULT_MAX_FRAME, encodeFrame, FrameDecoder } from "../src/transport/frames.ts";

// Inputs for fuzz-frames.test.ts: byte streams a misbehaving peer might send a runner or a
// head, and what it must do with each (judged with our own decoder, independently of it).

/** Frames a runner or a head takes before the handshake (protocol/handshake.ts). */
const HANDSHAKE_MAX_FRAME = 4096;
/** Frames a head takes after it (the Connection head/head.ts makes): membership messages are small. */
const HEAD_MAX_FRAME = 1 << 20;

export const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
export const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
export const frameBytes = (segments: readonly Uint8Array[]): Uint8Array => concat(...encodeFrame(segments));
/** A header of any shape, packed as the real ones are. */
export const rawFrame = (header: unknown[], ...payload: Uint8Array[]): Uint8Array => frameBytes([...frameOf(header as Header), ...payload]);

/** What a runner takes after the handshake, on its main port or a lane. */
const RUNNER_READS = reads("", ...SESSION_READS.types, ...LANE_READS.types);

/** What a head takes as the first message after the handshake: a runner registers, a driver subscribes. */
const HEAD_FIRST_READS = reads("", T.Join, T.Subscribe);

/** Whoever listens on a port: a runner (main port or lane), an SPMD rank, or a head. */
type Listener = "runner" | "rank" | "head";

export interface Target {
  name: string;
  address: () => string;
  /** Send the input after a real handshake (as an authenticated peer). */
  handshake: boolean;
  listener: Listener;
}

/**
 * What a listener should do with the first bytes of a connection: "malformed" — close it on
 * its own; "incomplete" or "accepted" — it may wait for more, so the test closes its side
 * and the listener must follow.
 */
export type Verdict = "malformed" | "incomplete" | "accepted";

/** The biggest frame `t` takes at this stage: each listener has its own limit after the handshake. */
function maxFrame(t: Target): number {
  if (!t.handshake) return HANDSHAKE_MAX_FRAME;
  return t.listener === "head" ? HEAD_MAX_FRAME : DEFAULT_MAX_FRAME;
}

/** The verdict on `bytes` as the first bytes sent to `t`, from our own decoder. */
export function judge(bytes: Uint8Array, t: Target): Verdict {
  let first: Uint8Array[] | undefined;
  try {
    new FrameDecoder((segs) => void (first ??= segs.map((s) => s.slice())), maxFrame(t)).push(bytes);
  } catch {
    if (first === undefined) return "malformed";
  }
  if (first === undefined) return "incomplete";
  try {
    if (!t.handshake) {
      const [type, version, nonce] = readHeader(first, ANY_MESSAGE);
      return type === T.Hello && version === PROTOCOL_VERSION && nonce instanceof Uint8Array && nonce.byteLength === 32 ? "accepted" : "malformed";
    }
    if (t.listener === "rank") return "malformed"; // a rank wants the hello of its own job first: unknowable here
    readHeader(first, t.listener === "head" ? HEAD_FIRST_READS : RUNNER_READS);
    return "accepted";
  } catch {
    return "malformed";
  }
}

/** A length prefix alone, then `tail`: judged without allocating what the prefix announces. */
export function judgePrefix(prefix: number, tail: Uint8Array, t: Target): Verdict {
  if (prefix < 4 || prefix > maxFrame(t)) return "malformed";
  return tail.byteLength < prefix ? "incomplete" : judge(concat(u32(prefix), tail), t);
}

// ---- generators -------------------------------------------------------------------------

export const nonce = new Uint8Array(32).fill(7);
const notInt = fc.oneof(
  fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.constant(undefined),
  fc.double({ noInteger: true }).filter((x) => !Number.isSafeInteger(x)),
  fc.array(fc.integer(), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }), fc.uint8Array({ maxLength: 8 }),
);
const notStr = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 3 }), fc.uint8Array({ maxLength: 8 }));
const notBool = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.constant(undefined), fc.array(fc.boolean(), { maxLength: 2 }));
const notStrings = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)), { minLength: 1, maxLength: 4 }));
const notNonce = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.uint8Array({ maxLength: 31 }), fc.uint8Array({ minLength: 33, maxLength: 64 }));

/**
 * A well-formed member record (as a runner sends in T.Join). Its address is no real
 * runner's: a fuzzed Join that is well-formed registers it, and must replace no one.
 */
export const fuzzMember: Member = { address: "fuzz.member:1", id: "fuzz-id", threads: 1, pid: 1, hostname: "fuzz", metrics: null, tags: ["fuzz=1"] };
const MEMBER_KINDS: Record<keyof Member, fc.Arbitrary<unknown>> = {
  address: notStr, id: notStr, threads: notInt, pid: notInt, hostname: notStr, tags: notStrings,
  metrics: notStr.filter((v) => v !== null && v !== undefined), // nullable: null is right
};
const memberKeys = Object.keys(MEMBER_KINDS) as (keyof Member)[];
/** Not a member record: not a record at all, a field of the wrong kind, or a field missing. */
const notMember = fc.oneof(
  fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.uint8Array({ maxLength: 8 }),
    fc.constant(Object.values(fuzzMember)), fc.array(fc.string({ maxLength: 4 }), { maxLength: 7 })),
  fc.constantFrom(...memberKeys).chain((key) => MEMBER_KINDS[key].map((bad) => ({ ...fuzzMember, [key]: bad }))),
  fc.constantFrom(...memberKeys).map((key) => {
    const partial: Partial<Member> = { ...fuzzMember };
    delete partial[key];
    return partial;
  }),
);
const wrong = { int: notInt, str: notStr, bool: notBool, strings: notStrings, nonce: notNonce, member: notMember } as const;
type Kind = keyof typeof wrong;

/** One well-formed instance of every message a runner, a rank or a head reads, with its field kinds. */
const MESSAGES: { type: T; fields: [Kind, unknown][]; payload?: Uint8Array }[] = [
  { type: T.Hello, fields: [["int", PROTOCOL_VERSION], ["nonce", nonce]] },
  { type: T.Auth, fields: [["nonce", nonce]] },
  { type: T.Module, fields: [["int", 1], ["str", "ab".repeat(32)]] },
  { type: T.Call, fields: [["int", 1], ["int", 1], ["str", "add"], ["bool", false]], payload: Uint8Array.of(0x92, 1, 2) },
  { type: T.Cancel, fields: [["int", 1]] },
  { type: T.Code, fields: [["str", "ab".repeat(32)], ["bool", true]], payload: Uint8Array.of(0x20) },
  { type: T.StatsRequest, fields: [["int", 1]] },
  { type: T.Put, fields: [["int", 1], ["str", "fuzz.1"]], payload: Uint8Array.of(0x01) },
  { type: T.Fetch, fields: [["int", 1], ["str", "fuzz.1"]] },
  { type: T.Free, fields: [["strings", ["fuzz.1"]]] },
  { type: T.Pull, fields: [["int", 1], ["str", "fuzz.1"], ["str", "127.0.0.1:1"]] },
  { type: T.Owner, fields: [["str", "fuzz"]] },
  { type: T.ChanReply, fields: [["int", 1], ["bool", true], ["int", 0], ["bool", false]] },
  { type: T.ChanRevoke, fields: [["str", "fuzz.c1"]] },
  { type: T.RankHello, fields: [["str", "job"], ["int", 0]] },
  { type: T.RankMessage, fields: [["str", "w:p"], ["int", 0]], payload: Uint8Array.of(0x01) },
  { type: T.Join, fields: [["member", fuzzMember]] },
  { type: T.Subscribe, fields: [] },
];
const KNOWN_TYPES = new Set<unknown>(Object.values(T).filter((v) => typeof v === "number"));

/** A message with one field of the wrong type. */
const wrongField = fc.constantFrom(...MESSAGES.filter((m) => m.fields.length > 0)).chain((m) => fc.nat(m.fields.length - 1).chain((i) => wrong[m.fields[i]![0]].map((bad) => {
  const values = m.fields.map(([, v]) => v);
  values[i] = bad;
  return m.payload === undefined ? rawFrame([m.type, ...values]) : rawFrame([m.type, ...values], m.payload);
})));

/** A message type no one speaks (or not a number at all). */
const unknownType = fc.tuple(
  fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).filter((n) => !KNOWN_TYPES.has(n)), fc.double({ noInteger: true }), fc.string({ maxLength: 4 }), fc.constant(null)),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxLength: 4 }),
).map(([type, rest]) => rawFrame([type, ...rest]));

/** A known message with far too many fields (not the handshake's, which ignore extras). */
const tooManyFields = fc.tuple(fc.constantFrom(...MESSAGES.filter((m) => m.type !== T.Hello && m.type !== T.Auth)), fc.integer({ min: 1, max: 3000 }))
  .map(([m, extra]) => rawFrame([m.type, ...m.fields.map(([, v]) => v), ...new Array<number>(extra).fill(1)]));

/** Hand-made msgpack headers: huge claimed lengths, deep nesting, stray extensions. */
const craftedHeader = fc.oneof(
  fc.constantFrom(
    Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x0a), // an array of 2^32-1 elements
    Uint8Array.of(0xdd, 0x7f, 0xff, 0xff, 0xff, 0x0a),
    Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x0a), // a map of 2^32-1 entries
    Uint8Array.of(0x92, 0x0a, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41), // a string of 4 GiB
    Uint8Array.of(0x92, 0x0a, 0xc6, 0xff, 0xff, 0xff, 0xff), // bytes, 4 GiB
    Uint8Array.of(0x92, 0x0a, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x21), // our binary extension, 4 GiB
    Uint8Array.of(0x92, 0x0a, 0xd6, 0x21, 0x09, 0x01, 0xff, 0xff), // a binary value pointing at a missing attachment
    Uint8Array.of(0x92, 0x0a, 0xd5, 0x22, 0xc0, 0xc0), // our error extension, holding nil
  ),
  fc.integer({ min: 1, max: 60_000 }).map((depth) => concat(new Uint8Array(depth).fill(0x91), Uint8Array.of(0x0a))),
  fc.tuple(fc.integer({ min: -128, max: 127 }), fc.uint8Array({ maxLength: 40 }))
    .map(([type, data]) => concat(Uint8Array.of(0x92, 0x0a, 0xc7, data.byteLength, type & 0xff), data)),
).map((header) => frameBytes([header, Uint8Array.of(0x90)]));

/** Well-formed frames whose header is wrong: the listener must close without waiting for more. */
export const wrongHeaders = fc.tuple(fc.oneof(wrongField, unknownType, tooManyFields, craftedHeader), fc.boolean())
  // Sometimes big, so that a runner assembles it in a buffer of its own (in shared memory).
  .map(([frame, big]) => (big ? growFrame(frame, 70 * 1024) : frame));

/** The same frame with an extra segment of `bytes` zeros. */
function growFrame(frame: Uint8Array, bytes: number): Uint8Array {
  const segs: Uint8Array[] = [];
  new FrameDecoder((s) => void segs.push(...s.map((x) => x.slice()))).push(frame);
  return frameBytes([...segs, new Uint8Array(bytes)]);
}

/** Random segment tables behind a length prefix that matches the bytes that follow. */
export const segmentTables = fc.record({
  count: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  lengths: fc.array(fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), { maxLength: 8 }),
  tail: fc.uint8Array({ maxLength: 256 }),
}).map(({ count, lengths, tail }) => {
  const body = concat(u32(count), ...lengths.map(u32), tail);
  return concat(u32(body.byteLength), body);
});

/** Length prefixes anywhere in 0..2^32-1, the edges of the limits included, then a few bytes. */
export const lengthPrefixes = fc.tuple(
  fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 3, 4, 4096, 4097, 65_535, 65_536, HEAD_MAX_FRAME, HEAD_MAX_FRAME + 1, DEFAULT_MAX_FRAME, DEFAULT_MAX_FRAME + 1, 2 ** 32 - 1)),
  fc.uint8Array({ maxLength: 64 }),
);
