// Where a goroutine started on a runner (`go()` inside a remote function) runs: a pure rule,
// so that it is tested on its own (test/unit/goroutine-placement.test.ts).

/**
 * How much busier, in this driver's calls in flight per thread, the asking runner may be than
 * the least loaded usable runner and still take the goroutine itself. Staying costs nothing
 * to move and keeps a family of goroutines on one runner, where the channels they share (made
 * there) are one thread hop away instead of a network round trip; most goroutines spend
 * their life blocked on those channels. But a thread shares its event loop among its
 * goroutines: once the asking runner carries more than one extra call per thread beyond the
 * least loaded, a new goroutine that computes would queue behind a whole call's worth of
 * work there, which costs more than the ~100 µs hop to an idler runner. So one call per
 * thread: a chain or tree of goroutines stays local while it is small, and spills over once
 * it would outweigh the others.
 */
export const LOCAL_MARGIN = 1;

/** A runner as this rule sees it. */
export interface Loaded {
  readonly inFlight: number;
  readonly threads: number;
  /** Connected and not stopping. */
  readonly usable: boolean;
}

const load = (r: Loaded): number => r.inFlight / r.threads;

/**
 * The runner for a goroutine that `home` asked for, given `least`, the least loaded usable
 * runner (the scheduler's heap top, so this costs O(1)): `home` unless it is gone, stopping,
 * or busier than `least` by more than LOCAL_MARGIN. Undefined: no usable runner (it waits).
 * `idleThread`: the asking thread said it would run the child itself, everything else on it
 * waiting on channels (runner/goroutines/locality.ts). Its calls in flight are then goroutines
 * blocked on channels, which cost no CPU, so they do not make the runner busy.
 */
export function placeGoroutine<R extends Loaded>(home: R | undefined, least: R | undefined, idleThread = false): R | undefined {
  if (home === undefined || !home.usable) return least;
  if (least === undefined || least === home || idleThread) return home;
  return load(home) <= load(least) + LOCAL_MARGIN ? home : least;
}
