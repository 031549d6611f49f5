import { functionOf } from "../../../protocol/function-name.ts";
import type { Span } from "../../../protocol/activity.ts";
import type { TraceAttempt, TraceCall, TraceData, TraceRunner } from "./trace-data.ts";
import { inPoint, outPoint, packFlat, packNested, type Slice } from "./tracks.ts";

// A recorded trace as Chrome's Trace Event Format (JSON object form), which Perfetto
// (ui.perfetto.dev) and chrome://tracing open:
//   process "driver": every call of this driver once, made -> settled, on lanes "calls N";
//     inside, "queued" (made -> first sent) and one slice per send ("→ host:port": an attempt);
//   process "runner host:port" per runner: per thread ("main thread", "thread N"), a slice
//     per call run there (one per attempt that started), and inside it channel waits and
//     collectives; on the main thread, object fetches from other runners and code fetches;
//   flows: from a Ref's producer to each call that read it ("ref"), and from the producer to
//     each runner-to-runner fetch of its object ("fetch").
// Runner times are moved onto the driver's clock by the offset measured at the handshake.
// Pure: the same data gives the same JSON.

export type TraceEvent =
  | { ph: "M"; name: "process_name" | "thread_name" | "process_sort_index" | "thread_sort_index"; pid: number; tid: number; args: { name?: string; sort_index?: number } }
  | { ph: "X"; name: string; cat: string; pid: number; tid: number; ts: number; dur: number; args: Record<string, unknown> }
  | { ph: "s" | "f"; name: string; cat: string; id: number; pid: number; tid: number; ts: number; bp?: "e" }
  | { ph: "i"; name: string; cat: string; pid: number; tid: number; ts: number; s: "g"; args: Record<string, unknown> };

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ms";
  otherData: Record<string, unknown>;
}

/** A slice before it becomes an "X" event. */
interface Piece extends Slice {
  name: string;
  cat: string;
  args: Record<string, unknown>;
  pid: number;
  /** The thread it ran on (runners; 0: the main thread), or -1 (the driver). */
  thread: number;
  /** Nested under a driver call (its queue and attempts): laid out with it. */
  under?: Piece;
}

const DRIVER_PID = 1;
const ms = (micros: number): number => Math.round(micros) / 1000;

export function traceEvents(data: TraceData): TraceFile {
  const events: TraceEvent[] = [];
  const t = (driverMicros: number): number => Math.round(driverMicros - data.origin);
  const endTs = t(data.end);

  // --- The driver: each call once, with its queue and attempts inside.
  const driverPieces: Piece[] = [];
  const callPiece = new Map<TraceCall, Piece>();
  for (const c of data.calls) {
    const ts = Math.max(0, t(c.submitted));
    const end = Math.max(ts, c.settled === undefined ? endTs : t(c.settled));
    const firstSent = c.attempts[0] === undefined ? undefined : t(c.attempts[0].sent);
    const args: Record<string, unknown> = {
      call: c.seq, ok: c.ok, argBytes: c.argBytes, attempts: c.attempts.length,
      queuedMs: firstSent === undefined ? null : ms(Math.max(0, firstSent - ts)),
    };
    if (c.rank !== undefined) args.rank = c.rank;
    if (c.error !== undefined) args.error = c.error;
    if (c.settled === undefined) args.unfinished = true;
    if (c.keep !== undefined) args.makes = c.keep;
    if (c.deps.length > 0) args.reads = c.deps;
    const p: Piece = { name: c.label, cat: "call", args, pid: DRIVER_PID, thread: -1, ts, end, topLevel: true, lane: 0, children: [] };
    callPiece.set(c, p);
    driverPieces.push(p);
    if (firstSent !== undefined && firstSent > ts) p.children!.push(child(p, "queued", "queue", ts, Math.min(firstSent, end), {}));
    c.attempts.forEach((a, i) => {
      const from = Math.min(Math.max(ts, t(a.sent)), end);
      const next = c.attempts[i + 1];
      const to = next === undefined ? end : Math.min(Math.max(from, t(next.sent)), end);
      p.children!.push(child(p, `→ ${a.runner}`, "attempt", from, to, { attempt: i + 1, runner: a.runner, id: a.id, lane: a.lanePort ?? "main link" }));
    });
  }
  const driverLanes = packFlat(driverPieces);

  // --- The runners: their spans on the driver's clock, by thread.
  const runners = [...data.runners].sort((a, b) => a.address.localeCompare(b.address));
  const runnerPid = new Map(runners.map((r, i) => [r.address, DRIVER_PID + 1 + i]));
  const attemptsOf = attemptIndex(data.calls);
  const runPieces = new Map<TraceCall, Piece[]>(); // by call: its runs, in attempt order
  const fetchPieces: { span: Span; piece: Piece; runner: string }[] = [];
  const byTrack = new Map<string, Piece[]>();
  for (const [address, spans] of data.spans) {
    const runner = runners.find((r) => r.address === address) ?? addRunner(runners, runnerPid, address);
    const pid = runnerPid.get(address)!;
    const offset = Math.round(runner.offsetMicros);
    for (const s of spans) {
      const ts = t(s.start - offset);
      const piece: Piece = { name: s.name, cat: s.kind, args: {}, pid, thread: s.thread, ts, end: ts + Math.max(0, Math.round(s.dur)), topLevel: s.kind === "call", lane: 0, children: undefined };
      describe(piece, s);
      if (s.kind === "call") {
        const found = s.callId === null ? undefined : matchAttempt(attemptsOf.get(`${address}#${s.callId}`), s.start - offset);
        if (found !== undefined) {
          const [c, i] = found;
          piece.name = c.label;
          piece.args = { call: c.seq, ...piece.args, attempt: i + 1, sentToStartMs: ms(ts - t(c.attempts[i]!.sent)) };
          if (c.rank !== undefined) {
            piece.args.rank = c.rank;
            piece.key = `rank ${c.rank}`;
          }
          const runs = runPieces.get(c) ?? [];
          runs[i] = piece;
          runPieces.set(c, runs);
        } else {
          piece.args.unmatched = true; // a call this trace did not record (made before it, or over its bounds)
        }
      }
      if (s.kind === "fetch") fetchPieces.push({ span: s, piece, runner: address });
      const key = `${pid}/${s.thread}`;
      const list = byTrack.get(key);
      if (list === undefined) byTrack.set(key, [piece]);
      else list.push(piece);
    }
  }

  // --- Metadata: names and order of processes and tracks.
  meta(events, DRIVER_PID, 0, "process_name", { name: `driver ${data.driver.hostname} (pid ${data.driver.pid})` });
  meta(events, DRIVER_PID, 0, "process_sort_index", { sort_index: 0 });
  for (let lane = 0; lane < driverLanes; lane++) {
    meta(events, DRIVER_PID, lane + 1, "thread_name", { name: lane === 0 ? "calls" : `calls ${lane + 1}` });
    meta(events, DRIVER_PID, lane + 1, "thread_sort_index", { sort_index: lane });
  }
  for (const r of runners) {
    const pid = runnerPid.get(r.address)!;
    const clock = r.rttMicros === undefined ? "clock not measured" : `clock ${r.offsetMicros >= 0 ? "+" : ""}${ms(r.offsetMicros)} ms ±${ms(r.rttMicros / 2)}`;
    meta(events, pid, 0, "process_name", { name: `runner ${r.address} (${r.hostname}, pid ${r.pid}, ${clock})` });
    meta(events, pid, 0, "process_sort_index", { sort_index: pid });
  }
  const tidOf = new Map<Piece, number>();
  const tracks = [...byTrack].map(([key, pieces]) => ({ pid: pieces[0]!.pid, thread: pieces[0]!.thread, key, pieces }))
    .sort((a, b) => a.pid - b.pid || a.thread - b.thread);
  const nextTid = new Map<number, number>();
  for (const tr of tracks) {
    const lanes = packNested(tr.pieces);
    const first = nextTid.get(tr.pid) ?? 1;
    nextTid.set(tr.pid, first + lanes);
    for (let lane = 0; lane < lanes; lane++) {
      const base = tr.thread === 0 ? "main thread" : `thread ${tr.thread}`;
      meta(events, tr.pid, first + lane, "thread_name", { name: lane === 0 ? base : `${base} · ${lane + 1}` });
      meta(events, tr.pid, first + lane, "thread_sort_index", { sort_index: tr.thread * 1000 + lane });
    }
    for (const p of tr.pieces) tidOf.set(p, first + p.lane);
  }
  for (const p of driverPieces) tidOf.set(p, p.lane + 1);

  // --- The slices.
  for (const p of driverPieces) {
    events.push(complete(p, tidOf.get(p)!));
    for (const k of p.children as Piece[]) events.push(complete(k, tidOf.get(p)!));
  }
  for (const tr of tracks) for (const p of tr.pieces) events.push(complete(p, tidOf.get(p)!));

  // --- Flows: a Ref's producer to its readers, and to the runner-to-runner fetches of its object.
  let flowId = 0;
  const flow = (cat: "ref" | "fetch", from: Piece, to: Piece): void => {
    const id = ++flowId;
    const out = outPoint(from);
    events.push({ ph: "s", name: cat, cat, id, pid: from.pid, tid: tidOf.get(from)!, ts: out });
    events.push({ ph: "f", name: cat, cat, id, pid: to.pid, tid: tidOf.get(to)!, ts: inPoint(to), bp: "e" });
  };
  const producers = producersOf(data.calls);
  /** Where a call ran for good (its last run), or its driver slice if no run was reported. */
  const ranAt = (c: TraceCall): Piece => {
    const runs = runPieces.get(c);
    return (runs === undefined ? undefined : runs[runs.length - 1]) ?? callPiece.get(c)!;
  };
  for (const c of data.calls) {
    for (const dep of new Set(c.deps)) {
      const lastSent = c.attempts[c.attempts.length - 1]?.sent ?? c.submitted;
      const p = producerBefore(producers.get(dep), lastSent);
      if (p !== undefined && p !== c) flow("ref", ranAt(p), ranAt(c));
    }
  }
  for (const { span, piece, runner } of fetchPieces) {
    const offset = Math.round(runners.find((r) => r.address === runner)!.offsetMicros);
    const p = producerBefore(producers.get(span.name), span.start - offset);
    if (p !== undefined) flow("fetch", ranAt(p), piece);
  }

  // --- What is missing, said where it will be seen.
  const { dropped } = data;
  if (dropped.calls + dropped.spans + dropped.runnerSpans > 0 || dropped.unflushed.length > 0) {
    events.push({
      ph: "i", name: "trace incomplete", cat: "trace", pid: DRIVER_PID, tid: 1, ts: endTs, s: "g",
      args: { droppedCalls: dropped.calls, droppedSpans: dropped.spans + dropped.runnerSpans, runnersNotFlushed: dropped.unflushed },
    });
  }

  return {
    traceEvents: events,
    displayTimeUnit: "ms",
    otherData: {
      producer: "strand",
      startedAt: new Date(data.origin / 1000).toISOString(),
      durationMs: ms(endTs),
      driver: data.driver,
      runners: runners.map((r) => ({ address: r.address, hostname: r.hostname, pid: r.pid, threads: r.threads, clockOffsetMs: ms(r.offsetMicros), clockRttMs: r.rttMicros === undefined ? null : ms(r.rttMicros) })),
      calls: data.calls.length,
      dropped,
    },
  };
}

function child(parent: Piece, name: string, cat: string, ts: number, end: number, args: Record<string, unknown>): Piece {
  return { name, cat, args, pid: parent.pid, thread: -1, ts, end, topLevel: false, lane: 0, children: undefined, under: parent };
}

/** Names and args of a runner span by kind. */
function describe(p: Piece, s: Span): void {
  const args: Record<string, unknown> = { ok: s.ok, runMs: ms(s.dur) };
  if (s.error !== null) args.error = s.error;
  switch (s.kind) {
    case "call":
      p.name = functionOf(s.name);
      if (s.callId !== null) args.id = s.callId;
      if (s.bytes !== null) args.argBytes = s.bytes;
      break;
    case "fetch":
      p.name = "fetch";
      Object.assign(args, { object: s.name, from: s.detail, bytes: s.bytes });
      break;
    case "code":
      p.name = "code fetch";
      Object.assign(args, { hash: s.name, bytes: s.bytes });
      break;
    case "chan":
      p.name = `chan ${s.name}`;
      args.channel = s.detail;
      break;
    case "collective": {
      // "jobRank rank/size": the rank in the job, and in this communicator.
      const [jobRank, rank, size] = (s.detail ?? "").split(/[ /]/).map(Number);
      Object.assign(args, { rank, size });
      if (jobRank !== rank) args.jobRank = jobRank;
      p.want = `rank ${jobRank}`;
      break;
    }
    default:
      if (s.detail !== null) args.detail = s.detail;
      if (s.bytes !== null) args.bytes = s.bytes;
  }
  p.args = args;
}

function complete(p: Piece, tid: number): TraceEvent {
  return { ph: "X", name: p.name, cat: p.cat, pid: p.pid, tid, ts: p.ts, dur: p.end - p.ts, args: p.args };
}

function meta(events: TraceEvent[], pid: number, tid: number, name: "process_name" | "thread_name" | "process_sort_index" | "thread_sort_index", args: { name?: string; sort_index?: number }): void {
  events.push({ ph: "M", name, pid, tid, args });
}

/** A runner that reported spans but is no longer among the cluster's (gone): named, its clock unknown. */
function addRunner(runners: TraceRunner[], pids: Map<string, number>, address: string): TraceRunner {
  const r: TraceRunner = { address, hostname: "?", pid: 0, threads: 0, offsetMicros: 0, rttMicros: undefined };
  runners.push(r);
  pids.set(address, DRIVER_PID + runners.length);
  return r;
}

/** Every send by runner and wire id (ids restart when a runner rejoins on a new link: a list). */
function attemptIndex(calls: readonly TraceCall[]): Map<string, [TraceCall, number][]> {
  const index = new Map<string, [TraceCall, number][]>();
  for (const c of calls) {
    c.attempts.forEach((a: TraceAttempt, i) => {
      const key = `${a.runner}#${a.id}`;
      const list = index.get(key);
      if (list === undefined) index.set(key, [[c, i]]);
      else list.push([c, i]);
    });
  }
  return index;
}

/** Of the sends with a runner span's id, the last one sent before it started (driver clock; some slack for the clocks). */
function matchAttempt(candidates: [TraceCall, number][] | undefined, start: number): [TraceCall, number] | undefined {
  if (candidates === undefined || candidates.length <= 1) return candidates?.[0];
  let best = candidates[0]!;
  for (const x of candidates) if (x[0].attempts[x[1]]!.sent <= start + 1000 && x[0].attempts[x[1]]!.sent >= best[0].attempts[best[1]]!.sent) best = x;
  return best;
}

/** The calls that made each object (more than one if it was remade from its lineage). */
function producersOf(calls: readonly TraceCall[]): Map<string, TraceCall[]> {
  const m = new Map<string, TraceCall[]>();
  for (const c of calls) {
    if (c.keep === undefined) continue;
    const list = m.get(c.keep);
    if (list === undefined) m.set(c.keep, [c]);
    else list.push(c);
  }
  return m;
}

/** The producer whose result a reader at `at` got: the last one settled by then, else the first. */
function producerBefore(list: TraceCall[] | undefined, at: number): TraceCall | undefined {
  if (list === undefined) return undefined;
  let found: TraceCall | undefined;
  for (const p of list) if (p.settled !== undefined && p.settled <= at + 1000) found = p;
  return found ?? list[0];
}
