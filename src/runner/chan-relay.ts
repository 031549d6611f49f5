import { threadId } from "node:worker_threads";
import { CancelledError } from "../errors.ts";
import { Chan, type ChanOps, type RecvResult, type Selected, type WireCase } from "../protocol/chan.ts";
import { decodeError, decodeSegments, encodeSegments, encodeTrusted, setChanReviver } from "../protocol/codec.ts";
import { chanOf, DIRECT_MIN, type ChanRequest } from "../protocol/messages.ts";
import { segmentBytes } from "../transport/frames.ts";
import { threadMetrics } from "./metrics/thread-metrics.ts";
import { toShared } from "./object-store.ts";
import { ThreadChannel } from "./thread-messages.ts";
import { ownerOf } from "../protocol/activity.ts";
import { timedOnThread } from "./activity/thread-spans.ts";
import { isThreadChan } from "../protocol/chan-id.ts";
import { threadChanHandle } from "./thread-chans.ts";

// Runs on a worker thread: a channel given to user code here is a handle whose operations
// travel to the runner's main thread (over the runner's channel of threads), from there to
// the channel's home driver, and back. The home applies Go's semantics; this side only
// encodes values, waits, and withdraws what an AbortSignal cancels.

interface Reply {
  ok: boolean;
  index: number;
  done: boolean;
  segments: Uint8Array[];
  /** A big value left in a runner's store: [objectId, runner address, or null for this runner]. */
  pointer?: [string, string | null] | undefined;
  /** Send credits granted with this answer (buffered channels, lane path only). */
  credits?: number | undefined;
}

/**
 * This thread's own connection to a driver (its lane, lane.ts): channel operations for that
 * driver's channels go straight over it, skipping the main thread's relay.
 */
export interface LaneChanPath {
  op(req: ChanRequest, values: Uint8Array[][], pointers: number[], answer: (r: Reply) => void): number;
  cancel(opId: number): void;
  /** A send against a credit: no answer. */
  csend(chan: string, value: Uint8Array[]): void;
}

/**
 * Send credits this thread holds, per channel: sends it may make without waiting for the
 * home (which reserved buffer slots for them). Given back whole when the home asks.
 */
const credits = new Map<string, number>();

/** The home asks for this thread's credits on `chan` back: how many it had (now none). */
export function revokeCredits(chan: string): number {
  const n = credits.get(chan) ?? 0;
  credits.delete(chan);
  return n;
}

const lanesByPrefix = new Map<string, LaneChanPath>();

export function laneForDriver(prefix: string, path: LaneChanPath | undefined): void {
  if (path !== undefined) return void lanesByPrefix.set(prefix, path);
  lanesByPrefix.delete(prefix);
  // Credits were granted to that connection: they die with it.
  for (const chan of credits.keys()) if (chan.startsWith(`${prefix}.`)) credits.delete(chan);
}

/** Makes channels decodable on this thread, as handles that relay to their home. */
export function startChanRelay(channelName: string): void {
  const bc = ThreadChannel.worker(channelName);
  const waiting = new Map<number, (r: Reply) => void>();
  let next = 0;
  const storing = new Map<number, (error: Uint8Array[] | undefined) => void>();
  const taking = new Map<number, (r: Reply) => void>();
  bc.listen((m) => {
    if (m.kind === "object-stored" && m.threadId === threadId) {
      const s = storing.get(m.request);
      storing.delete(m.request);
      s?.(m.error);
      return;
    }
    if (m.kind !== "chan-answer" || m.threadId !== threadId) return;
    const t = taking.get(m.request);
    if (t !== undefined) {
      taking.delete(m.request);
      return t(m);
    }
    const w = waiting.get(m.request);
    waiting.delete(m.request);
    w?.(m);
  });

  /**
   * A big value stays here: the runner's store keeps it (owned by the channel's home driver)
   * and only its id goes to the home. Request numbers are negative: lane.ts's are positive.
   */
  let nextStore = 0;
  const keepHere = (chan: string, segments: Uint8Array[]): Promise<Uint8Array[]> => {
    const request = --nextStore;
    const objectId = `${chan.slice(0, chan.lastIndexOf("."))}.m${threadId}x${-request}`;
    return new Promise((resolve, reject) => {
      storing.set(request, (error) => {
        if (error === undefined) return resolve([encodeTrusted(objectId).body]);
        reject(decodeError(error));
      });
      bc.post({ kind: "store-object", threadId, request, objectId, segments: segments.map(toShared) });
    });
  };

  /** An operation and its wait for the home's answer: a span of this thread while a driver watches. */
  const request = (req: ChanRequest, values: Uint8Array[][], signal: AbortSignal | undefined): Promise<Reply> =>
    timedOnThread("chan", req.op, ownerOf(chanOf(req)), chanOf(req), () => requestBig(req, values, signal));

  const requestBig = async (req: ChanRequest, values: Uint8Array[][], signal: AbortSignal | undefined): Promise<Reply> => {
    threadMetrics?.chanOp(req.op);
    const pointers: number[] = [];
    const chans = req.op === "select" ? req.cases.filter((c) => c.op === "send").map((c) => c.chan) : [chanOf(req)];
    for (let i = 0; i < values.length; i++) {
      if (segmentBytes(values[i]!) < DIRECT_MIN) continue;
      values[i] = await keepHere(chans[i]!, values[i]!);
      pointers.push(i);
    }
    return requestNow(req, values, pointers, signal);
  };

  const requestNow = (req: ChanRequest, values: Uint8Array[][], pointers: number[], signal: AbortSignal | undefined): Promise<Reply> => {
    const chan = chanOf(req);
    const lane = lanesByPrefix.get(chan.slice(0, chan.lastIndexOf(".")));
    if (lane === undefined || pointers.length > 0) return relayed(req, values, pointers, signal);
    // The direct way: this thread's lane to the channel's home.
    return new Promise<Reply>((resolve, reject) => {
      if (signal?.aborted) return reject(new CancelledError("channel operation cancelled", { cause: signal.reason }));
      let done = false;
      const onAbort = (): void => {
        if (done) return;
        done = true;
        lane.cancel(opId);
        reject(new CancelledError("channel operation cancelled", { cause: signal?.reason }));
      };
      const opId = lane.op(req, values, pointers, (r) => {
        // Now, not after the caller's await: a revoke may be the very next frame on the lane,
        // and must find these credits to give them back.
        if (r.credits !== undefined && r.credits > 0) credits.set(chan, (credits.get(chan) ?? 0) + r.credits);
        if (done) return;
        done = true;
        signal?.removeEventListener("abort", onAbort);
        settle(r, resolve, reject);
      });
      if (!done) signal?.addEventListener("abort", onAbort, { once: true });
    });
  };

  const settle = (r: Reply, resolve: (r: Reply) => void, reject: (e: Error) => void): void => {
    if (r.pointer !== undefined) {
      // Over a lane a big value arrives as an address: the main thread takes it for us.
      bc.post({ kind: "take-chan-value", threadId, request: --nextStore, pointer: r.pointer });
      taking.set(nextStore, (t) => settle({ ...t, index: r.index }, resolve, reject));
      return;
    }
    if (r.ok) resolve(r);
    else reject(decodeError(r.segments));
  };

  const relayed = (req: ChanRequest, values: Uint8Array[][], pointers: number[], signal: AbortSignal | undefined): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      if (signal?.aborted) return reject(new CancelledError("channel operation cancelled", { cause: signal.reason }));
      const id = ++next;
      const onAbort = (): void => {
        if (!waiting.delete(id)) return;
        bc.post({ kind: "withdraw-chan-op", threadId, request: id });
        reject(new CancelledError("channel operation cancelled", { cause: signal?.reason }));
      };
      waiting.set(id, (r) => {
        signal?.removeEventListener("abort", onAbort);
        if (r.ok) resolve(r);
        else reject(decodeError(r.segments));
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      bc.post({ kind: "relay-chan-op", threadId, request: id, req, values, pointers });
    });

  const valueOf = (r: Reply): unknown => decodeSegments(r.segments);
  const encode = encodeSegments;

  const ops: ChanOps = {
    send: async (chan, value, signal) => {
      const v = encode(value, "value");
      const held = credits.get(chan) ?? 0;
      const lane = held > 0 && signal?.aborted !== true ? lanesByPrefix.get(chan.slice(0, chan.lastIndexOf("."))) : undefined;
      if (lane !== undefined && segmentBytes(v) < DIRECT_MIN) {
        // A slot is already ours: send without waiting (in order, on the lane).
        credits.set(chan, held - 1);
        threadMetrics?.chanOp("send");
        lane.csend(chan, v);
        return;
      }
      await request({ op: "send", chan }, [v], signal);
    },
    recv: async (chan, signal): Promise<RecvResult<unknown>> => {
      const r = await request({ op: "recv", chan }, [], signal);
      return r.done ? { value: undefined, done: true } : { value: valueOf(r), done: false };
    },
    close: async (chan) => {
      await request({ op: "close", chan }, [], undefined);
    },
    len: async (chan) => (await request({ op: "len", chan }, [], undefined)).index,
    select: async (cases: WireCase[], options): Promise<Selected> => {
      const values = cases.flatMap((c, i) => (c.op === "send" ? [encode(c.value, `cases[${i}].value`)] : []));
      const r = await request({
        op: "select", cases: cases.map((c) => ({ op: c.op, chan: c.chan })), default: options.default === true, timeout: options.timeout,
      }, values, options.signal);
      if (r.index < 0) return { index: -1 };
      if (r.done) return { index: r.index, done: true };
      return r.segments.length > 0 ? { index: r.index, value: valueOf(r) } : { index: r.index };
    },
  };

  // Weakly: a thread may see many short-lived channels; a handle holds no state of its own.
  const handles = new Map<string, WeakRef<Chan<unknown>>>();
  setChanReviver((id, capacity) => {
    if (isThreadChan(id)) return threadChanHandle(id, capacity)!;
    let h = handles.get(id)?.deref();
    if (h === undefined) handles.set(id, new WeakRef((h = new Chan(id, capacity, ops))));
    return h;
  });
}
