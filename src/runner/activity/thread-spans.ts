import { threadId } from "node:worker_threads";
import { epochMicros, type SpanTuple } from "../../protocol/activity.ts";
import { LANE_COUNTER } from "../thread-messages.ts";

/** How often a thread hands its spans to the main thread, and how many it holds meanwhile. */
const FLUSH_MS = 100;
const MAX_HELD = 20_000;

/**
 * A worker thread's spans, on their way to the main thread's feed. Nothing is kept unless a
 * driver watches with spans (the main thread sets a shared counter): a call then pays one
 * atomic read. Spans cross as one JSON string per flush, on a channel only the main thread hears,
 * which passes the string on to drivers unread. The counter's value also says whether calls may
 * be merged (see merged()).
 */
export class ThreadSpans {
  private held: SpanTuple[] = [];
  /** The last call span held, which the next may merge into. */
  private lastCall: SpanTuple | undefined;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly counters: Int32Array,
    private readonly post: (json: string, count: number, dropped: number, flush?: number) => void,
  ) {}

  get watching(): boolean {
    return Atomics.load(this.counters, LANE_COUNTER.watching) > 0;
  }

  add(span: SpanTuple): void {
    if (span[0] === "call" && this.merged(span)) return;
    if (this.held.length >= MAX_HELD) {
      this.dropped++;
      return;
    }
    this.held.push(span);
    if (span[0] === "call") this.lastCall = span;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Hands the held spans over; `request`: the main thread asked (it waits for every thread's answer, even empty). */
  flush(request?: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held.length === 0 && this.dropped === 0 && request === undefined) return;
    this.post(JSON.stringify(this.held), this.held.length, this.dropped, request);
    this.held = [];
    this.lastCall = undefined;
    this.dropped = 0;
  }

  /**
   * Folds a successful call into the last held span when the watchers take merged spans (a
   * dashboard draws the task stream at pixels of milliseconds, not a span per 20 µs call) and it
   * is the same function, for the same driver, on this thread, starting within the gap after
   * it ended. The merged span then stands for `count` calls that ran `busy` µs in all.
   */
  private merged(span: SpanTuple): boolean {
    const mode = Atomics.load(this.counters, LANE_COUNTER.watching);
    const last = this.lastCall;
    if (mode <= 1 || last === undefined || !span[5] || !last[5] || span[1] !== last[1] || span[6] !== last[6]) return false;
    const end = last[3] + last[4];
    if (span[3] < last[3] || span[3] - end > mode - 1) return false;
    last[12] = (last[12] ?? last[4]) + span[4]; // busy: run times summed, before dur stretches
    last[11] = (last[11] ?? 1) + 1;
    last[4] = Math.max(end, span[3] + span[4]) - last[3];
    last[7] = null; // no longer one call
    last[9] = (last[9] ?? 0) + (span[9] ?? 0);
    last[10] = null;
    return true;
  }
}

/** This thread's spans (lane.ts sets them when the thread starts its lane). */
let mine: ThreadSpans | undefined;

export function setThreadSpans(spans: ThreadSpans): void {
  mine = spans;
}

/**
 * Times `work` as a span of this thread (a channel wait, a collective) while a driver watches
 * with spans; otherwise runs it and records nothing (one atomic read). `owner`: the driver it
 * was for (see ownerOf). What `work` returns or throws is the caller's, untouched.
 */
export function timedOnThread<R>(kind: string, name: string, owner: string | null, detail: string | null, work: () => Promise<R>): Promise<R> {
  const spans = mine;
  if (spans === undefined || !spans.watching) return work();
  const t0 = performance.now();
  const record = (ok: boolean, error: string | null): void =>
    spans.add([kind, name, threadId, epochMicros(t0), Math.round((performance.now() - t0) * 1000), ok, owner, null, error, null, detail]);
  let p: Promise<R>;
  try {
    p = work();
  } catch (err) {
    record(false, errorLine(err));
    throw err;
  }
  void p.then(() => record(true, null), (err: unknown) => record(false, errorLine(err)));
  return p;
}

const errorLine = (err: unknown): string => {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : typeof e?.name === "string" ? e.name : "Error";
  return `${code}: ${typeof e?.message === "string" ? e.message : String(err)}`.slice(0, 500);
};
