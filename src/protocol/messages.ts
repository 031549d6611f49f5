import { Packr } from "msgpackr";
import { ProtocolError } from "../errors.ts";
// msgpackr's extensions are global: the codec's (binary values as kind + bytes) also
// encode the byte arrays in headers (nonces, MACs), so both ends must have registered
// them before any header is packed. Importing the codec here guarantees that.
import "./codec.ts";
import type { Encoded } from "./codec.ts";
import { msgpackBoundsProblem } from "./msgpack-bounds.ts";

/**
 * Every frame is [header, ...payload]. The header is a small msgpack array whose first
 * element is the message type; the payload, when present, is an encoded value
 * (body + attachments) that the runner's main thread forwards to a worker unread.
 */
export const PROTOCOL_VERSION = 1;

export enum T {
  Hello = 1, // driver -> runner: [T, version, clientNonce]
  Challenge = 2, // runner -> driver: [T, version, serverNonce, authRequired]
  Auth = 3, // driver -> runner: [T, mac]
  Welcome = 4, // runner -> driver: [T, RunnerInfo, serverMac]
  Refused = 5, // either way, then close: [T, code, message]
  Module = 9, // driver -> runner: [T, moduleRef, hash], once per link before calls use moduleRef
  // driver -> runner: [T, id, moduleRef, exportName, solo, deps?, keep?, concurrent?] + args.
  // `deps` lists the objects the args refer to, each with a runner to fetch it from if this
  // one lacks it; `keep` is an object id: store the result under it instead of sending it
  // back; `concurrent`: the call holds channels and may block on them (a goroutine).
  Call = 10,
  Cancel = 11, // driver -> runner: [T, id]
  // runner -> driver: [T, id, ok, execMicros, inline?, notStarted?] + value or error. A kept
  // result answers its size in bytes, or (inline) the value itself when it is small.
  // `notStarted`: the runner is stopping and turned the call away before it began.
  Result = 12,
  CodeRequest = 13, // runner -> driver: [T, hash]
  Code = 14, // driver -> runner: [T, hash, found] + [bundle bytes]
  Heartbeat = 15, // either way: [T]
  StatsRequest = 16, // driver -> runner: [T, id]
  Stats = 17, // runner -> driver: [T, id, RunnerStats]
  Lanes = 18, // runner -> driver: [T, ports], whenever they change: the threads' own servers
  Put = 19, // driver -> runner: [T, reqId, objectId] + value: store it, owned by this driver
  Fetch = 20, // driver or runner -> runner: [T, reqId, objectId, take?]; `take`: free it once sent
  Object = 21, // answer to Fetch: [T, reqId, found] + the stored value, or an error
  Free = 22, // driver -> runner: [T, objectIds]
  Pull = 23, // driver -> runner: [T, reqId, objectId, fromAddress]: fetch it from there and keep it
  Done = 24, // answer to Put and Pull: [T, reqId, ok, bytes] (+ error when not ok)
  // driver -> runner, first after the handshake: [T, prefix]. The driver's object ids
  // start with `prefix.`: objects its calls keep on a thread's lane are owned by it.
  Owner = 25,
  // Channels (their home is the driver that made them; runners relay their threads' use):
  ChanOp = 26, // runner -> driver: [T, opId, ChanRequest, sizes] + values of send cases
  // driver -> runner: [T, opId, ok, index, done, pointer, credits?] + the value received, or an error.
  // `pointer` [objectId, from]: a big value stayed in the sending runner's store; take it from
  // there (`from` null: this runner holds it).
  ChanReply = 27,
  ChanCancel = 28, // runner -> driver: [T, opId]: the op is no longer wanted (its thread died, its signal fired)
  // Send credits (buffered channels, over a thread's lane): a send's reply may grant some
  // (ChanReply's `credits`); the thread then sends values as `csend` ops, unanswered.
  ChanRevoke = 29, // driver -> runner thread: [T, chan]: give back your credits for chan
  ChanReturn = 30, // runner thread -> driver: [T, chan, n]: n credits given back (after every csend made with them)
  // Between the ranks of an SPMD job (runner/spmd/), after the usual handshake:
  RankHello = 31, // dialing rank -> rank: [T, job, sourceRank], first
  RankMessage = 32, // [T, context, tag] + the encoded value
  // runner -> driver, main connection: [T]. The runner is stopping (SIGTERM): it finishes
  // the calls it has and turns new ones away (Result with notStarted); send it no more.
  Draining = 33,
}

/** A channel operation as it crosses the wire; the values of send cases follow as payloads. */
export type ChanRequest =
  | { op: "send"; chan: string }
  | { op: "recv"; chan: string }
  | { op: "close"; chan: string }
  | { op: "csend"; chan: string }
  | { op: "select"; cases: { op: "send" | "recv"; chan: string }[]; default: boolean; timeout: number | undefined };

/** The channel an operation names (a select: its first case's). */
export function chanOf(req: ChanRequest): string {
  return req.op === "select" ? (req.cases[0]?.chan ?? "") : req.chan;
}

/**
 * Values of channel sends at least this big do not travel through the channel's home: the
 * sending runner keeps them in its object store and the home passes on a pointer, which the
 * receiving runner takes from there directly.
 */
export const DIRECT_MIN = 64 * 1024;

/**
 * An object a call's arguments refer to, and a runner that holds it (null: this one
 * should). With `inline`, the object is small and its value travels in the call itself: its
 * last segments, `inline` of them per such object, in the order of the list.
 */
export type Dep = [objectId: string, from: string | null, inline?: number];

/** Kept results up to this size travel back to the driver, which passes them on inline. */
export const INLINE_MAX = 64 * 1024;

/**
 * Calls holding channels (goroutines, SPMD ranks) one runner thread runs at once: they
 * await more than they compute, so they share threads instead of holding one each.
 */
export const CONCURRENT_PER_THREAD = 64;

export interface RunnerInfo {
  id: string;
  threads: number;
  pid: number;
  hostname: string;
  /** The largest frame this runner accepts (and sends): bigger calls fail at the call site. */
  maxFrame: number;
}

export interface RunnerStats {
  calls: number;
  failures: number;
  inFlight: number;
  codeFetches: number;
  codeBytesReceived: number;
  codeLoads: number;
  cachedModules: number;
  sessions: number;
  workerRestarts: number;
  /** Hand-overs to worker threads, and the calls they carried: calls/batches is the mean batch. */
  batches: number;
  batchedCalls: number;
  /** Objects stored here (puts, kept results, fetched copies) and their bytes. */
  objects: number;
  objectBytes: number;
  /** The object store's memory budget. */
  objectBytesLimit: number;
  /** Objects this runner fetched from other runners, and their bytes. */
  objectFetches: number;
  objectBytesFetched: number;
  /** Objects this runner sent to other runners and drivers. */
  objectsServed: number;
  /** Channel operations of threads relayed by the main thread (threads use their lanes when they can). */
  channelOpsRelayed: number;
}

export type Header =
  | [T.Hello, number, Uint8Array]
  | [T.Challenge, number, Uint8Array, boolean]
  | [T.Auth, Uint8Array]
  | [T.Welcome, RunnerInfo, Uint8Array]
  | [T.Refused, string, string]
  | [T.Module, number, string]
  | [T.Call, number, number, string, boolean, (Dep[] | null)?, (string | null)?, boolean?]
  | [T.Cancel, number]
  | [T.Result, number, boolean, number, boolean?, boolean?]
  | [T.CodeRequest, string]
  | [T.Code, string, boolean]
  | [T.Heartbeat]
  | [T.StatsRequest, number]
  | [T.Stats, number, RunnerStats]
  | [T.Lanes, number[]]
  | [T.Put, number, string]
  | [T.Fetch, number, string, boolean?]
  | [T.Object, number, boolean]
  | [T.Free, string[]]
  | [T.Pull, number, string, string]
  | [T.Done, number, boolean, number]
  | [T.Owner, string]
  | [T.ChanOp, number, ChanRequest, number[], number[]?]
  | [T.ChanReply, number, boolean, number, boolean, ([string, string | null] | null)?, number?]
  | [T.ChanRevoke, string]
  | [T.ChanReturn, string, number]
  | [T.ChanCancel, number]
  | [T.RankHello, string, number]
  | [T.RankMessage, string, number]
  | [T.Draining];

// Headers never hold user values, so the plain, fast msgpack settings suffice.
const headerPackr = new Packr({ useRecords: false, moreTypes: false });

export function frameOf(header: Header, payload?: Encoded | Uint8Array): Uint8Array[] {
  const head = Uint8Array.prototype.slice.call(headerPackr.pack(header));
  if (payload === undefined) return [head];
  if (payload instanceof Uint8Array) return [head, payload];
  return [head, payload.body, ...payload.attachments];
}

export function headerOf(segments: readonly Uint8Array[]): Header {
  let first = segments[0];
  if (first === undefined) throw new ProtocolError("empty frame");
  // Big frames arrive in shared memory, and msgpackr's native string extractor (used for
  // headers of 140 bytes or more) misreads it: a call with a big argument and a dozen Refs
  // failed as "undecodable header" and dropped the driver. Headers are small: copy.
  if (first.buffer instanceof SharedArrayBuffer) first = Uint8Array.prototype.slice.call(first);
  const problem = msgpackBoundsProblem(first);
  if (problem !== undefined) throw new ProtocolError(`undecodable header: ${problem}`);
  let h: unknown;
  try {
    h = headerPackr.unpack(first);
  } catch (err) {
    throw new ProtocolError(`undecodable header: ${(err as Error).message}`);
  }
  if (!Array.isArray(h) || typeof h[0] !== "number") throw new ProtocolError("header is not a typed array message");
  return h as Header;
}

/** The value carried after the header, as the codec wants it. */
export function payloadOf(segments: readonly Uint8Array[]): Encoded {
  const body = segments[1];
  if (body === undefined) throw new ProtocolError("message has no payload");
  return { body, attachments: segments.slice(2) };
}
