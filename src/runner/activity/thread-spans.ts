import type { SpanTuple } from "../../protocol/activity.ts";
import { LANE_COUNTER } from "../thread-messages.ts";

/** How often a thread hands its spans to the main thread, and how many it holds meanwhile. */
const FLUSH_MS = 100;
const MAX_HELD = 20_000;

/**
 * A worker thread's spans, on their way to the main thread's feed. Nothing is kept unless a
 * driver watches with spans (the main thread sets a shared counter): a call then pays one
 * atomic read. Spans cross as one JSON string per flush: every thread on the runner's channel
 * hears every message, and a string is cheap to clone for the threads that ignore it.
 */
export class ThreadSpans {
  private held: SpanTuple[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly counters: Int32Array,
    private readonly post: (json: string, dropped: number) => void,
  ) {}

  get watching(): boolean {
    return Atomics.load(this.counters, LANE_COUNTER.watching) > 0;
  }

  add(span: SpanTuple): void {
    if (this.held.length >= MAX_HELD) {
      this.dropped++;
      return;
    }
    this.held.push(span);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held.length === 0 && this.dropped === 0) return;
    this.post(JSON.stringify(this.held), this.dropped);
    this.held = [];
    this.dropped = 0;
  }
}
