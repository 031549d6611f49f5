import { bool, int, maybe, nullable, num, record, str, tupleOf, type Kind } from "./fields.ts";

// What a runner tells the drivers that watch it (T.Watch, T.Activity): how loaded it is,
// and, if asked, what ran where and when. Dashboards, `strand status` / `strand top` and
// traces read the cluster this way; no view asks a runner for more than this.

/** How a runner's process is doing, sampled when an Activity message leaves. */
export interface RunnerUsage {
  /** CPU time the whole process (every thread) used over the last interval, in cores (1 = one core busy). */
  cpu: number;
  /** Resident memory of the process, and the main thread's JavaScript heap, in bytes. */
  rss: number;
  heapUsed: number;
  /** Worker threads, and calls running on them now (more than threads: goroutines share threads). */
  threads: number;
  running: number;
  /** Seconds since the runner started. */
  uptime: number;
}

export const runnerUsage: Kind<RunnerUsage> = record<RunnerUsage>("runner usage", {
  cpu: num, rss: num, heapUsed: num, threads: int, running: int, uptime: num,
});

/**
 * Something that took time on a runner. `kind` "call" is a call run on a thread; other kinds
 * (object fetches, channel waits, collectives, code fetches) name what they time. Times are the
 * runner's clock: microseconds since the Unix epoch.
 */
export interface Span {
  kind: string;
  /** The function (a call), or what was waited for. */
  name: string;
  /** The worker thread (Node's threadId; 0: the runner's main thread). */
  thread: number;
  start: number;
  dur: number;
  ok: boolean;
  /** The driver the work was for (its object id prefix), and its call id there. */
  owner: string | null;
  callId: number | null;
  /** A failure: "CODE: message" (the code if the error has one, else its name). */
  error: string | null;
  /** Bytes moved, where that means something (a fetch, a call's arguments, a bundle). */
  bytes: number | null;
  /**
   * What else names it, by kind: "fetch", the runner the object came from (host:port);
   * "chan", the channel; "collective", this rank in its communicator ("rank/size").
   */
  detail?: string | null | undefined;
  /**
   * Calls this span stands for: a watcher that asked for merged spans (a dashboard's task
   * stream) gets back-to-back successful calls of one function on one thread as one span, whose
   * `dur` runs from the first's start to the last's end and `busy` sums their run times.
   */
  count?: number;
  busy?: number;
}

/** A span as it crosses the wire: a tuple, since thousands go in one message. */
export type SpanTuple = [
  kind: string, name: string, thread: number, start: number, dur: number, ok: boolean, owner: string | null, callId: number | null, error: string | null,
  bytes: number | null, detail?: string | null, count?: number | null, busy?: number | null,
];

export const spanTuple: Kind<SpanTuple> = tupleOf("a span [kind, name, thread, start, dur, ok, owner, callId, error, bytes, detail?, count?, busy?]",
  str, str, int, num, num, bool, nullable(str), nullable(int), nullable(str), nullable(num), maybe(str), maybe(int), maybe(num));

export const toTuple = (s: Span): SpanTuple => [s.kind, s.name, s.thread, s.start, s.dur, s.ok, s.owner, s.callId, s.error, s.bytes, s.detail, s.count, s.busy];

export const fromTuple = ([kind, name, thread, start, dur, ok, owner, callId, error, bytes, detail, count, busy]: SpanTuple): Span =>
  ({ kind, name, thread, start, dur, ok, owner, callId, error, bytes, detail: detail ?? null, count: count ?? 1, busy: busy ?? dur });

/**
 * The spans of an Activity message: its payload segments, each a JSON array of span tuples.
 * Tuples that do not fit the table are left out and counted (`invalid`), not fatal: a driver
 * may read them long after the message (a trace reads them as it stops).
 */
export function decodeSpans(chunks: readonly Uint8Array[]): { spans: SpanTuple[]; invalid: number } {
  const spans: SpanTuple[] = [];
  let invalid = 0;
  for (const c of chunks) {
    let list: unknown;
    try {
      list = JSON.parse(utf8.decode(c));
    } catch {
      invalid++;
      continue;
    }
    if (!Array.isArray(list)) {
      invalid++;
      continue;
    }
    for (const s of list) {
      if (spanTuple.test(s)) spans.push(s);
      else invalid++;
    }
  }
  return { spans, invalid };
}

const utf8 = new TextDecoder();

/**
 * Shifts what this process reports as its clock, in ms (STRAND_CLOCK_SKEW_MS): for testing the
 * traces' clock correction on one host, where every process shares one clock. Read once.
 */
const SKEW_MICROS = Math.round(Number(process.env.STRAND_CLOCK_SKEW_MS ?? 0) * 1000) || 0;

/** Now, on this host's clock, in microseconds since the Unix epoch (any thread: timeOrigin is per thread). */
export const epochMicros = (t: number = performance.now()): number => Math.round((performance.timeOrigin + t) * 1000) + SKEW_MICROS;

/** The driver whose ids start so (`prefix.…`: objects, channels, SPMD jobs): the owner of a span. */
export const ownerOf = (id: string): string | null => {
  const dot = id.lastIndexOf(".");
  return dot > 0 ? id.slice(0, dot) : null;
};

/** The smallest interval a watcher may ask for: the feed is for eyes and traces, not a data path. */
export const MIN_WATCH_MS = 50;
