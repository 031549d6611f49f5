import v8 from "node:v8";
import { GoroutineLimitError } from "../../errors.ts";
import { LANE_COUNTER } from "../thread-messages.ts";

// Goroutines have no cap: a blocked one costs memory only. What a runner refuses, it
// refuses at the `go` call with a GoroutineLimitError, never by queueing:
// - its heap nearly full: V8 kills the whole process (every goroutine and call on it) when a
//   heap reaches its limit, so a new goroutine is refused while the heap that would hold it
//   (the main thread's bookkeeping, the worker thread's coroutine) is above HEAP_REFUSE of
//   its limit. What is left is room for the live goroutines to go on and for the collector.
//   V8 collects hard before a heap gets near its limit, so what is in use there is live.
// - `--max-goroutines`, off by default: a safety valve for operators who want a number.
// The count is the runner's, across threads: one shared counter, raised and lowered by
// whichever thread starts and ends the goroutine (the main thread for those it hands to a
// thread, a lane for those that came on it).

/** Above this fraction of its heap limit, a thread starts no more goroutines. */
export const HEAP_REFUSE = 0.9;

const MiB = 1024 * 1024;

/** Why this thread's heap takes no new goroutine, or undefined. */
export function heapRefusal(): string | undefined {
  const { used_heap_size: used, heap_size_limit: limit } = v8.getHeapStatistics();
  if (used <= limit * HEAP_REFUSE) return undefined;
  return `heap nearly full: ${Math.round(used / MiB)} of ${Math.round(limit / MiB)} MiB in use (over ${HEAP_REFUSE * 100}%)`;
}

/**
 * Counts a goroutine in, or says why not (the count is then unchanged). Every one admitted
 * must be counted out with `goroutineEnded`.
 */
export function admitGoroutine(counters: Int32Array, max: number | undefined): GoroutineLimitError | undefined {
  const live = Atomics.add(counters, LANE_COUNTER.goroutines, 1) + 1;
  const reason = max !== undefined && max > 0 && live > max ? `${max} goroutines live (--max-goroutines ${max})` : heapRefusal();
  if (reason === undefined) return undefined;
  Atomics.sub(counters, LANE_COUNTER.goroutines, 1);
  return new GoroutineLimitError("", reason);
}

export function goroutineEnded(counters: Int32Array, n = 1): void {
  Atomics.sub(counters, LANE_COUNTER.goroutines, n);
}
