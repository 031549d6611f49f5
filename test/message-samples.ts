import { MESSAGES, PROTOCOL_VERSION, T, type Header, type Member, type Message, type RunnerInfo, type RunnerStats } from "../src/protocol/messages.ts";
import type { Reads } from "../src/protocol/read-header.ts";
import type { RunnerUsage } from "../src/protocol/activity.ts";

// One header of every message in the table, and headers that break it: for the table's own
// tests (unit/message-table.test.ts) and for every side that reads them (header-checks.test.ts).

export const nonce = new Uint8Array(32).fill(7);
export const INFO: RunnerInfo = { id: "fake", threads: 1, pid: 1, hostname: "fake", maxFrame: 1 << 20 };
export const MEMBER: Member = { address: "127.0.0.1:7700", id: "fake", threads: 1, pid: 1, hostname: "fake", metrics: null, tags: ["slurm.job=1"] };
export const STATS: RunnerStats = {
  calls: 1, failures: 0, inFlight: 0, codeFetches: 0, codeBytesReceived: 0, codeLoads: 0, cachedModules: 0, sessions: 1, workerRestarts: 0,
  batches: 0, batchedCalls: 0, objects: 0, objectBytes: 0, objectBytesLimit: 1e9, objectFetches: 0, objectBytesFetched: 0, objectsServed: 0, objectsSpilled: 2, objectBytesSpilled: 3e6, spills: 4, restores: 1, channelOpsRelayed: 0, goroutines: 0,
};

export const USAGE: RunnerUsage = { cpu: 0.5, rss: 1e8, heapUsed: 1e7, threads: 2, running: 1, uptime: 3.5 };

/** One header of every message, each field present: the compiler holds each to the table's types, and none may be missing. */
export const SAMPLES: { [K in T]: Message<K> } = {
  [T.Hello]: [T.Hello, PROTOCOL_VERSION, nonce],
  [T.Challenge]: [T.Challenge, PROTOCOL_VERSION, nonce, true],
  [T.Auth]: [T.Auth, nonce],
  [T.Welcome]: [T.Welcome, { ...INFO, tools: [{ name: "go", version: "go1.19.8", hash: "cd".repeat(32), about: "go1.19.8 (/usr/lib/go-1.19/bin/go)" }] }, nonce, 1.7e15],
  [T.Refused]: [T.Refused, "STRAND_AUTH", "bad token"],
  [T.Module]: [T.Module, 1, "ab".repeat(32)],
  [T.Call]: [T.Call, 1, 1, "add", false, [["d.1", null], ["d.2", "127.0.0.1:1"], ["d.3", null, 1]], "d.4", true],
  [T.Calls]: [T.Calls, ["add", "noop"], [1, 1, 0, 1, 2, 1, 1, 1]],
  [T.Cancel]: [T.Cancel, 1],
  [T.Result]: [T.Result, 1, true, 12.5, true, false],
  [T.Results]: [T.Results, [1, 1, 12, 1, 2, 0, 3, 2]],
  [T.GraphCalls]: [T.GraphCalls, ["task"], [1, 1, 0, 1, 3, 2, 1, 1, 2, 1, 0, 0, 3, 0], ["d.3", "d.1", "d.2"]],
  [T.CodeRequest]: [T.CodeRequest, "ab".repeat(32)],
  [T.Code]: [T.Code, "ab".repeat(32), true],
  [T.Heartbeat]: [T.Heartbeat],
  [T.StatsRequest]: [T.StatsRequest, 1],
  [T.Stats]: [T.Stats, 1, STATS, 1.7e15],
  [T.Lanes]: [T.Lanes, [4000, 4001]],
  [T.Put]: [T.Put, 1, "d.1"],
  [T.Fetch]: [T.Fetch, 1, "d.1", true],
  [T.Object]: [T.Object, 1, true],
  [T.Free]: [T.Free, ["d.1", "d.2"]],
  [T.Pull]: [T.Pull, 1, "d.1", "127.0.0.1:1"],
  [T.Done]: [T.Done, 1, true, 10],
  [T.Owner]: [T.Owner, "d", true],
  [T.ChanOp]: [T.ChanOp, 1, { op: "select", cases: [{ op: "send", chan: "d.c1" }, { op: "recv", chan: "d.c2" }], default: false, timeout: 100 }, [1], [0]],
  [T.ChanReply]: [T.ChanReply, 1, true, 0, false, ["d.1", null], 4],
  [T.ChanCancel]: [T.ChanCancel, 1],
  [T.ChanRevoke]: [T.ChanRevoke, "d.c1"],
  [T.ChanReturn]: [T.ChanReturn, "d.c1", 3],
  [T.RankHello]: [T.RankHello, "job", 1],
  [T.RankMessage]: [T.RankMessage, "w:p", 7],
  [T.RankBytes]: [T.RankBytes, "w:p", 7, 2],
  [T.Draining]: [T.Draining],
  [T.Watch]: [T.Watch, 500, true, 7, 2000],
  [T.Activity]: [T.Activity, 1.7e15, STATS, USAGE, 2, 3, 7],
  [T.Log]: [T.Log, 1, "add", 1, ["a line", "another"]],
  [T.Join]: [T.Join, MEMBER],
  [T.Leave]: [T.Leave],
  [T.Subscribe]: [T.Subscribe],
  [T.Members]: [T.Members, "all", [MEMBER]],
  [T.Go]: [T.Go, "ab".repeat(32), "filter", [["d.c1", 0], ["@127.0.0.1:7700/n.c2", 4]], 40123],
  [T.ActorState]: [T.ActorState, "d.a1", 0],
};

export const TYPES = Object.keys(MESSAGES).map(Number) as T[];
/** No field of any kind takes this. */
export const WRONG = { wrong: true };
export const fieldNames = (t: T): string[] => MESSAGES[t].fields.map(([name]) => name);

/** The sample of `t` with field `i` (1-based, as in the header) replaced by `v`. */
export function withField(t: T, i: number, v: unknown): Header {
  const h: unknown[] = [...SAMPLES[t]];
  h[i] = v;
  return h as Header;
}

export interface BadHeader {
  what: string;
  header: Header;
  /** The error it must raise. */
  error: string;
}

/**
 * Headers of `reading`'s messages that it must refuse: each field in turn of the wrong type,
 * and for messages without fields, one too many.
 */
export function badHeaders(reading: Reads<T>): BadHeader[] {
  const out: BadHeader[] = [];
  for (const t of reading.types) {
    const { fields } = MESSAGES[t];
    if (fields.length === 0) out.push({ what: `${T[t]} with a field too many`, header: [...SAMPLES[t], 1] as unknown as Header, error: `malformed ${T[t]}: 1 fields` });
    fields.forEach(([name, kind], i) => out.push({ what: `${T[t]}.${name} of the wrong type`, header: withField(t, i + 1, WRONG), error: `malformed ${T[t]}: ${name} is not ${kind.says}` }));
  }
  return out;
}
