import type { CallSite, PendingCall } from "./call.ts";

/**
 * A runner as the scheduler sees it: what it needs to place a call and to send it there.
 * The runner link implements it; the scheduler, the retry policy and the task graph know
 * nothing more of a runner, so they run in unit tests against a fake one.
 *
 * The scheduler keeps the runners in heaps (runner-heap.ts) and relies on one promise:
 * room and free threads only grow with a call to its `slotFreed` (a call finished, the
 * window grew). They may shrink unannounced (a send, a runner starting to stop).
 */
export interface RunnerPort extends CallSite {
  readonly threads: number;
  /** Calls in flight there, goroutines included. */
  readonly inFlight: number;
  /** Usable, and its window (calls it may hold at once) has room for one more. */
  readonly hasRoom: boolean;
  /** Recent mean run time of a call there, in microseconds. */
  readonly execMicros: number;
  send(call: PendingCall): void;
}
