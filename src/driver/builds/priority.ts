import { dependencies, type GraphAction } from "./graph.ts";

// How urgent each action of a command graph is: the longest path from it to the end of the
// graph, each action on it counting what it costs. A command's cost is not known before it
// runs, but what it reads from the driver's files is: a Go package's compile takes about as
// long as its sources are big (over the net/http program's 124 compiles, run time against
// source bytes correlated at 0.95: runtime, 1.8 MB, took 11 s of a loaded build; the median
// compile 0.2 s). So an action weighs ACTION_BYTES plus the bytes of its file
// and directory inputs (outputs of other actions, e.g. the archives a link reads, do not
// count: they are the inputs of every reader alike).
//
// Measured (scripted schedules of 2 threads from the measured durations of three net/http
// builds, loaded machine): longest path first by time actually taken beats by number of
// actions by 2.7-3.9% of the makespan; by source bytes comes within 0.2% of by time taken.
// With one action queued ahead per thread (slots.ts), which may run before a more urgent one
// that became ready later, the gain by source bytes was 0.1-1.8% (see docs/decisions.md,
// session 28).

/** What an action weighs beyond its inputs' bytes: one action's worth of fixed cost, in bytes of source. */
export const ACTION_BYTES = 10_000;

/** Each action's longest weighted path to the end (itself included); `bytesRead(a)`: its file inputs' bytes. */
export function longestPaths(order: readonly GraphAction[], bytesRead: (a: GraphAction) => number): Map<string, number> {
  const readers = new Map<string, string[]>();
  for (const a of order) {
    for (const d of dependencies(a)) {
      const r = readers.get(d);
      if (r === undefined) readers.set(d, [a.id]);
      else r.push(a.id);
    }
  }
  const height = new Map<string, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const a = order[i]!;
    let next = 0;
    for (const r of readers.get(a.id) ?? []) next = Math.max(next, height.get(r)!);
    height.set(a.id, ACTION_BYTES + bytesRead(a) + next);
  }
  return height;
}
