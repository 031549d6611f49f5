import { Packr } from "msgpackr";
import { ProtocolError } from "../errors.ts";
// msgpackr's extensions are global: the codec's (binary values as kind + bytes) also
// encode the byte arrays in headers (nonces, MACs), so both ends must have registered
// them before any header is packed. Importing the codec here guarantees that.
import "./codec.ts";
import type { Encoded } from "./codec.ts";
import type { ToolInfo } from "./exec-wire.ts";
import { runnerUsage } from "./activity.ts";
import { anyOf, bool, bytes, int, listOf, literal, maybe, nullable, num, record, str, tupleOf, type Kind, type TupleOf } from "./fields.ts";

/**
 * Every frame is [header, ...payload]. The header is a small msgpack array whose first
 * element is the message type; the payload, when present, is an encoded value
 * (body + attachments) that the runner's main thread forwards to a worker unread.
 */
// 3: plain calls and their results travel in batches on lanes (T.Calls, T.Results), which a
// runner or driver of 2 cannot read. 4: graph calls with inline inputs travel in batches too
// (T.GraphCalls). 5: a binary message between ranks on different runners travels as its bytes
// (T.RankBytes), which a runner of 4 cannot read.
export const PROTOCOL_VERSION = 5;

// Each message's fields and meaning are in MESSAGES below, the one place they are written:
// the header types, and the check of every header read (read-header.ts), derive from it.
export enum T {
  Hello = 1,
  Challenge = 2,
  Auth = 3,
  Welcome = 4,
  Refused = 5,
  Module = 9,
  Call = 10,
  Cancel = 11,
  Result = 12,
  CodeRequest = 13,
  Code = 14,
  Heartbeat = 15,
  StatsRequest = 16,
  Stats = 17,
  Lanes = 18,
  Put = 19,
  Fetch = 20,
  Object = 21,
  Free = 22,
  Pull = 23,
  Done = 24,
  Owner = 25,
  ChanOp = 26,
  ChanReply = 27,
  ChanCancel = 28,
  ChanRevoke = 29,
  ChanReturn = 30,
  RankHello = 31,
  RankMessage = 32,
  Draining = 33,
  Watch = 34,
  Activity = 35,
  Log = 36,
  Join = 37,
  Leave = 38,
  Subscribe = 39,
  Members = 40,
  Go = 41,
  ActorState = 42,
  Calls = 43,
  Results = 44,
  GraphCalls = 45,
  RankBytes = 46,
}

/** A channel operation as it crosses the wire; the values of send cases follow as payloads. */
export type ChanRequest =
  | { op: "send"; chan: string }
  | { op: "recv"; chan: string }
  | { op: "close"; chan: string }
  /** Go's `len`: answered with the count in `index`. */
  | { op: "len"; chan: string }
  | { op: "csend"; chan: string }
  | { op: "select"; cases: { op: "send" | "recv"; chan: string }[]; default: boolean; timeout: number | null | undefined };

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
export type Dep = [objectId: string, from: string | null, inline?: number | null];

/** Kept results up to this size travel back to the driver, which passes them on inline. */
export const INLINE_MAX = 64 * 1024;

export interface RunnerInfo {
  id: string;
  threads: number;
  pid: number;
  hostname: string;
  /** The largest frame this runner accepts (and sends): bigger calls fail at the call site. */
  maxFrame: number;
  /** What answered: a runner (left out) or a head (membership only: it runs no calls). */
  role?: "head" | null | undefined;
  /** The tools it offers to commands (`cluster.exec`): absent from older runners and heads. */
  tools?: ToolInfo[] | null | undefined;
}

/**
 * A runner as a head knows it (head/membership.ts) and tells drivers: where to dial it and
 * what it is. `id` is its RunnerInfo id: a runner restarted on the same address has a new one.
 */
export interface Member {
  /** host:port drivers dial (the runner's listen address, or what it advertises). */
  address: string;
  id: string;
  threads: number;
  pid: number;
  hostname: string;
  /** Where it serves Prometheus metrics, if it does. */
  metrics: string | null;
  /** `key=value` labels the runner was started with (`--tag`), e.g. `slurm.job=1234`. */
  tags: string[];
}

/** How the runner set changed, in a Members message: the whole set, or who came or went. */
export type MembersChange = "all" | "joined" | "left" | "lost";

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
  /** Objects only on disk now (spilled over the budget, not read back since), and their bytes; absent from older runners. */
  objectsSpilled?: number | null | undefined;
  objectBytesSpilled?: number | null | undefined;
  /** Objects written to disk, and read back from it, since the runner started. */
  spills?: number | null | undefined;
  restores?: number | null | undefined;
  /** Channel operations of threads relayed by the main thread (threads use their lanes when they can). */
  channelOpsRelayed: number;
  /** Goroutines (calls holding channels, SPMD ranks) running on this runner now, blocked or not. */
  goroutines: number;
  /** WebAssembly modules compiled (once per content hash; absent from older runners). */
  wasmCompiles?: number | null | undefined;
  /**
   * The actors living on this runner (absent from older runners): all of them in Stats; in
   * Activity, the busiest (deepest mailboxes first) up to a bound, `actorCount` saying how many live.
   */
  actors?: ActorStat[] | null | undefined;
  /** Actors living on this runner, all of them (absent from older runners). */
  actorCount?: number | null | undefined;
  /** Calls waiting in the mailboxes of all of this runner's actors (absent from older runners and from Stats). */
  actorMailbox?: number | null | undefined;
}

/** One actor as its runner reports it. */
export interface ActorStat {
  id: string;
  className: string;
  name: string | null;
  /** The id prefix of the driver that spawned it. */
  owner: string;
  thread: number;
  /** Its thread's lane, and its module bundle's hash: what a handle needs to call it. */
  port: number;
  hash: string;
  /** Calls waiting in its mailbox, and running now. */
  mailbox: number;
  running: number;
  /** Calls it was given since it started here. */
  calls: number;
  /** Restarts before this one (0: the first). */
  incarnation: number;
  detached: boolean;
}

const dep: Kind<Dep> = tupleOf("an object dependency [objectId, from, inline?]", str, nullable(str), maybe(int));
const chanCase = record<{ op: "send" | "recv"; chan: string }>("a select case", { op: literal("send", "recv"), chan: str });
const chanRequest = anyOf<ChanRequest>("a channel operation",
  record<{ op: "send" | "recv" | "close" | "csend" | "len"; chan: string }>("", { op: literal("send", "recv", "close", "csend", "len"), chan: str }),
  record<Extract<ChanRequest, { op: "select" }>>("", { op: literal("select"), cases: listOf(chanCase), default: bool, timeout: maybe(num) }));
/** Where a big channel value waits: [objectId, the runner holding it (null: the receiver)]. */
const pointer = tupleOf("a value pointer [objectId, from]", str, nullable(str));
/** A channel in a goroutine's arguments: [id, capacity]. */
const goChan = tupleOf("a channel [id, capacity]", str, int);
const toolInfo = record<ToolInfo>("a tool", { name: str, version: str, hash: str, about: str });
const runnerInfo = record<RunnerInfo>("runner info", { id: str, threads: int, pid: int, hostname: str, maxFrame: int, role: maybe(literal("head")), tools: maybe(listOf(toolInfo)) });
const member = record<Member>("a member", { address: str, id: str, threads: int, pid: int, hostname: str, metrics: nullable(str), tags: listOf(str) });
const actorStat = record<ActorStat>("an actor's statistics", {
  id: str, className: str, name: nullable(str), owner: str, thread: int, port: int, hash: str, mailbox: int, running: int, calls: int, incarnation: int, detached: bool,
});
const runnerStats = record<RunnerStats>("runner statistics", {
  calls: num, failures: num, inFlight: num, codeFetches: num, codeBytesReceived: num, codeLoads: num, cachedModules: num,
  sessions: num, workerRestarts: num, batches: num, batchedCalls: num, objects: num, objectBytes: num, objectBytesLimit: num,
  objectFetches: num, objectBytesFetched: num, objectsServed: num, objectsSpilled: maybe(num), objectBytesSpilled: maybe(num), spills: maybe(num), restores: maybe(num), channelOpsRelayed: num, goroutines: num, wasmCompiles: maybe(num), actors: maybe(listOf(actorStat)),
  actorCount: maybe(num), actorMailbox: maybe(num),
});

/** A message's fields after its type, in order: a name (for errors) and a kind each. */
export interface MessageDef {
  readonly fields: readonly (readonly [name: string, kind: Kind<unknown>])[];
  /**
   * Read before the two sides know they speak the same version: a later version may add
   * fields, which are ignored, so that it is still told "wrong version" rather than "malformed".
   */
  readonly open?: true;
}

/**
 * Every message: its fields, and what it means. A header is `[type, ...fields]`; `maybe`
 * fields may be left out (or sent as null to reach a later one). What follows the header in
 * the frame, if anything, is said per message.
 */
export const MESSAGES = {
  // The handshake (handshake.ts), the first messages on every connection.
  /** dialer -> listener, first. */
  [T.Hello]: { fields: [["version", int], ["clientNonce", bytes]], open: true },
  /** listener -> dialer. */
  [T.Challenge]: { fields: [["version", int], ["serverNonce", bytes], ["authRequired", bool]], open: true },
  /** dialer -> listener: its proof that it holds the token (empty without one). */
  [T.Auth]: { fields: [["mac", bytes]] },
  /**
   * listener -> dialer: who it is, and its own proof. `clock`: its clock as it sent this (µs
   * since the epoch), from which a driver estimates the offset between their clocks (traces).
   */
  [T.Welcome]: { fields: [["info", runnerInfo], ["serverMac", bytes], ["clock", maybe(num)]] },
  /** Either way, then close: an error code (errors.ts) and why. */
  [T.Refused]: { fields: [["code", str], ["message", str]], open: true },

  // Calls.
  /** driver -> runner, once per connection before calls use `moduleRef`: the bundle's SHA-256. */
  [T.Module]: { fields: [["moduleRef", int], ["hash", str]] },
  /**
   * driver -> runner, + the arguments (encoded), then the values of `inline` deps. `deps`:
   * the objects the arguments refer to, each with a runner to fetch it from if this one lacks
   * it; `keep`: an object id: store the result under it instead of sending it back;
   * `concurrent`: the call holds channels and may block on them (a goroutine).
   */
  [T.Call]: {
    fields: [["id", int], ["moduleRef", int], ["exportName", str], ["solo", bool], ["deps", maybe(listOf(dep))], ["keep", maybe(str)], ["concurrent", maybe(bool)]],
  },
  /**
   * runner -> the driver whose call is running, + the encoded arguments: `go(f, ...args)` in
   * a remote function. `f` is export `exportName` of the bundle `hash`; `chans`: the channels
   * in the arguments, [id, capacity] each (so the driver need not decode them to know which
   * of its own it gives away). The driver starts it as a goroutine; the link it came on names
   * the runner that asked. `here`: the port of the asking thread's lane, when that thread
   * would run the goroutine itself (it is idle but for calls waiting on channels: runner/goroutines/locality.ts).
   */
  [T.Go]: { fields: [["hash", str], ["exportName", str], ["chans", listOf(goChan)], ["here", maybe(int)]] },
  /** driver -> runner: stop that call; its Result still comes. */
  [T.Cancel]: { fields: [["id", int]] },
  /**
   * runner -> driver, + the value or the error. A kept result answers its size in bytes, or
   * (`inline`) the value itself when it is small. `notStarted`: the runner is stopping and
   * turned the call away before it began.
   */
  [T.Result]: { fields: [["id", int], ["ok", bool], ["execMicros", num], ["inline", maybe(bool)], ["notStarted", maybe(bool)]] },
  /**
   * driver -> runner thread (its lane), + for each call its segments (the encoded arguments):
   * the plain calls of one event-loop turn in one frame (protocol/call-batch.ts). `calls`: four
   * integers per call, [id, moduleRef, index into `names` of its export, segment count]. Read
   * as that many Call frames without deps, keep or concurrent.
   */
  [T.Calls]: { fields: [["names", listOf(str)], ["calls", listOf(int)]] },
  /**
   * runner thread -> driver, + for each result its segments: the results of one event-loop
   * turn in one frame. `results`: four integers per result, [call id, flags (1 ok, 2 inline,
   * 4 notStarted: as Result's fields), execMicros, segment count].
   */
  [T.Results]: { fields: [["results", listOf(int)]] },
  /**
   * driver -> runner thread (its lane), + one segment holding every call's encoded arguments
   * and then its inputs' values, back to back: the graph calls of one event-loop turn whose
   * inputs all came back inline (protocol/graph-call-batch.ts). `calls`, per call: [id,
   * moduleRef, index into `names` of its export, flags (1: keeps its result), argument bytes,
   * input count, then each input's bytes]; `objects`, per call: its keep id (if it keeps),
   * then its inputs' ids. Read as Call frames whose deps are all inline, one segment each.
   */
  [T.GraphCalls]: { fields: [["names", listOf(str)], ["calls", listOf(int)], ["objects", listOf(str)]] },
  /** runner -> driver: send me this bundle. */
  [T.CodeRequest]: { fields: [["hash", str]] },
  /** driver -> runner, + the bundle's bytes. */
  [T.Code]: { fields: [["hash", str], ["found", bool]] },

  // The connection.
  /** Either way, when nothing else was sent for a while. */
  [T.Heartbeat]: { fields: [] },
  [T.StatsRequest]: { fields: [["id", int]] },
  /** `clock`: the runner's clock as it answered (µs since the epoch): a round trip to compare clocks by. */
  [T.Stats]: { fields: [["id", int], ["stats", runnerStats], ["clock", maybe(num)]] },
  /** runner -> driver, whenever they change: the ports of its threads' own servers. */
  [T.Lanes]: { fields: [["ports", listOf(int)]] },
  /**
   * driver -> runner, first after the handshake: the driver's object ids start with
   * `prefix.`; objects its calls keep on a thread's lane are owned by it. `logs`: send me
   * what my calls print (T.Log); left out, the runner prints it itself.
   */
  [T.Owner]: { fields: [["prefix", str], ["logs", maybe(bool)]] },
  /**
   * runner -> driver, main connection. The runner is stopping (SIGTERM): it finishes the
   * calls it has and turns new ones away (Result with notStarted); send it no more.
   */
  [T.Draining]: { fields: [] },
  /**
   * driver -> runner, main connection: send me Activity every `intervalMs` (0: stop), with the
   * spans of what ran (calls of every driver, fetches, waits) if `spans`. `flush`: also gather
   * every thread's spans now and send them at once, in an Activity that says `flushed` = this.
   */
  [T.Watch]: { fields: [["intervalMs", int], ["spans", bool], ["flush", maybe(int)], ["merge", maybe(int)]] },
  /**
   * runner -> watching driver, + the spans since the last Activity, `spans` of them, as JSON
   * arrays of span tuples (protocol/activity.ts), one segment each: the runner passes on its
   * threads' batches unread, and a driver may keep them unread until it needs them (a trace).
   * Its counters and usage now (`at`: its clock, µs since the epoch). `dropped`: spans left out
   * to bound the message. `flushed`: the answer to Watch's `flush`, every span finished before it included.
   */
  [T.Activity]: { fields: [["at", num], ["stats", runnerStats], ["usage", runnerUsage], ["spans", int], ["dropped", int], ["flushed", maybe(int)]] },
  /**
   * runner -> driver that asked for logs (T.Owner), on the connection call `id` came on and
   * before its Result: whole lines the call wrote to stdout (`stream` 0) or stderr (1), in
   * order. `fn`: the function's name.
   */
  [T.Log]: { fields: [["id", int], ["fn", str], ["stream", int], ["lines", listOf(str)]] },
  /**
   * actor thread -> the actor's owner driver, on its lane, + the state its checkpoint() returned
   * (encoded): sent after each call and before that call's Result. `incarnation`: restarts before
   * this one, so a late checkpoint of a dead incarnation is told from the new one's.
   */
  [T.ActorState]: { fields: [["actorId", str], ["incarnation", int]] },

  // Membership: runners and drivers to a head (head/), after the usual handshake.
  /**
   * runner -> head, first: register me (again, after the head restarted). Heartbeats both
   * ways keep it registered; a silence or a closed connection is a loss.
   */
  [T.Join]: { fields: [["member", member]] },
  /** runner -> head: I am stopping (draining): give me no new drivers; a goodbye, not a loss. */
  [T.Leave]: { fields: [] },
  /** driver -> head, first: tell me the runners, now and as they change. */
  [T.Subscribe]: { fields: [] },
  /** head -> subscribed driver: the whole set first (`all`), then each change. */
  [T.Members]: { fields: [["change", literal("all", "joined", "left", "lost")], ["members", listOf(member)]] },

  // Objects.
  /** driver -> runner, + the value: store it, owned by this driver. Answered by Done. */
  [T.Put]: { fields: [["reqId", int], ["objectId", str]] },
  /** driver or runner -> runner. `take`: free it once sent (a channel value). Answered by Object. */
  [T.Fetch]: { fields: [["reqId", int], ["objectId", str], ["take", maybe(bool)]] },
  /** Answer to Fetch, + the stored value, or an error. */
  [T.Object]: { fields: [["reqId", int], ["found", bool]] },
  /** driver -> runner. */
  [T.Free]: { fields: [["objectIds", listOf(str)]] },
  /** driver -> runner: fetch it from there and keep it. Answered by Done. */
  [T.Pull]: { fields: [["reqId", int], ["objectId", str], ["fromAddress", str]] },
  /** Answer to Put and Pull: the object's size (+ the error when not ok). */
  [T.Done]: { fields: [["reqId", int], ["ok", bool], ["bytes", int]] },

  // Channels: their home is the driver that made them; runners relay their threads' use.
  /**
   * runner -> driver, + `sizes[i]` segments for each send case's value. `pointers`: the
   * indices of values that are object ids of big values left in the sender's store.
   * `opId` 0: a credited send (`csend`), not answered.
   */
  [T.ChanOp]: { fields: [["opId", int], ["request", chanRequest], ["sizes", listOf(int)], ["pointers", maybe(listOf(int))]] },
  /**
   * driver -> runner, + the value received or an error. `pointer`: a big value stayed in
   * the sending runner's store: take it from there. `credits`: sends on this channel the
   * thread may make without waiting, as `csend` ops.
   */
  [T.ChanReply]: {
    fields: [["opId", int], ["ok", bool], ["index", int], ["done", bool], ["pointer", maybe(pointer)], ["credits", maybe(int)]],
  },
  /** runner -> driver: the op is no longer wanted (its thread died, its signal fired). */
  [T.ChanCancel]: { fields: [["opId", int]] },
  /** driver -> runner thread: give back your credits for this channel. */
  [T.ChanRevoke]: { fields: [["chan", str]] },
  /** runner thread -> driver: n credits given back, after every csend made with them. */
  [T.ChanReturn]: { fields: [["chan", str], ["n", int]] },

  // Between the ranks of an SPMD job (runner/spmd/), after the usual handshake.
  /** dialing rank -> rank, first. */
  [T.RankHello]: { fields: [["job", str], ["sourceRank", int]] },
  /** + the encoded value. */
  [T.RankMessage]: { fields: [["context", str], ["tag", int]] },
  /**
   * + the bytes of a typed array, ArrayBuffer or DataView, no codec: `raw` is its kind
   * (runner/spmd/raw-binary.ts).
   */
  [T.RankBytes]: { fields: [["context", str], ["tag", int], ["raw", int]] },
} as const satisfies { readonly [K in T]: MessageDef };

type Fields<K extends T> = (typeof MESSAGES)[K]["fields"];
type KindsOf<Fs> = { [I in keyof Fs]: Fs[I] extends readonly [string, infer K] ? K : never };

/** The header of message K (of each of them, for a union), as the table defines it. */
export type Message<K extends T> = K extends T
  ? [K, ...TupleOf<KindsOf<Fields<K>>>, ...((typeof MESSAGES)[K] extends { open: true } ? unknown[] : [])]
  : never;

export type Header = Message<T>;

// Headers never hold user values, so the plain, fast msgpack settings suffice.
export const headerPackr = new Packr({ useRecords: false, moreTypes: false });

export function frameOf(header: Header, payload?: Encoded | Uint8Array): Uint8Array[] {
  const head = Uint8Array.prototype.slice.call(headerPackr.pack(header));
  if (payload === undefined) return [head];
  if (payload instanceof Uint8Array) return [head, payload];
  return [head, payload.body, ...payload.attachments];
}

/**
 * frameOf for a frame given to Connection.send straight away, which copies a small header
 * into its outbox before anything else is packed: the header stays a view of msgpackr's
 * buffer instead of a copy of its own (an ArrayBuffer and a copy less per call frame and
 * per result frame, on the small-call path). Anything else must use frameOf.
 */
export function sentFrameOf(header: Header, payload: Encoded): Uint8Array[] {
  const head = headerPackr.pack(header) as Uint8Array;
  return payload.attachments.length === 0 ? [head, payload.body] : [head, payload.body, ...payload.attachments];
}

/** The value carried after the header, as the codec wants it. */
export function payloadOf(segments: readonly Uint8Array[]): Encoded {
  const body = segments[1];
  if (body === undefined) throw new ProtocolError("message has no payload");
  return { body, attachments: segments.slice(2) };
}
