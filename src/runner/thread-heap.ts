import v8 from "node:v8";

// The runner's worker threads start with an old generation limit of 64 MiB (V8's flag
// --initial-old-space-size, read by each isolate as it is made: set here, before the threads
// are). Why: a thread's heap is small (~11 MB of live objects), and once its first full
// collection had run, V8 set its next limit only ~8-11 MB above the live size, closer than its
// young generation's capacity (8 MB), so it began incremental marking again almost at once:
// a rank running allreduce of 2^20 doubles was marked and compacted every ~2 operations from
// its second job on (15-40 mark-compacts per 33 operations; the first job on a thread, before
// that first collection, had 1-3). Measured (2 ranks on 2 runners, loaded machine): process CPU
// per allreduce ~15 ms -> ~10 ms, per 1 MiB ping-pong round trip ~2.0 -> ~1.4 ms; the
// concurrent marker was the largest item of `perf record` on the runners (see
// docs/decisions.md). The cost: a thread's heap may hold up to 64 MiB of garbage before its
// first full collection. Memory outside the heap (ArrayBuffers) still triggers collections
// of its own, as before. A flag given explicitly (NODE_OPTIONS, node's command line) wins.
const INITIAL_OLD_SPACE_MB = 64;

// ... and with a young generation that starts at 8 MiB (--min-semi-space-size: V8 starts a
// semi-space at 1 MiB and grows it only when many objects survive, which a thread answering
// small calls never sees: nearly everything a call makes dies with it). Why: each scavenge
// stops the thread that would answer the next call, so each is a tail sample of a lone call's
// latency. Answering 15,000 sequential no-op calls (3,000 of them warm-up), the busy runner
// scavenged 18-24 times with 1 MiB (every ~700 calls; --trace-gc, start-up included), 5-6 with
// 8 MiB or 16 MiB (what start-up alone makes). Not 16: in a burst of 100,000 no-op calls the runners' CPU per call was
// 3.5 µs with 16 MiB against 3.15 with 1 MiB and 3.25 with 8 MiB (medians of 4-5 fresh
// clusters each, alternating, loaded machine): a young generation far beyond the core's
// cache (2 MiB L2 here) is written through it every cycle. The cost: up to 2 x 8 MiB of
// young generation per thread, committed as it is first used (a busy runner's RSS +~20 MB).
// docs/decisions.md, "The single call's tail".
const MIN_SEMI_SPACE_MB = 8;

/** Whether a V8 flag was given explicitly (node's command line or NODE_OPTIONS), in either spelling. */
function given(flag: string): boolean {
  const re = new RegExp(`^--${flag.replaceAll("-", "[-_]")}`);
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => re.test(a));
}

export function sizeThreadHeaps(): void {
  if (!given("initial-old-space-size")) v8.setFlagsFromString(`--initial-old-space-size=${INITIAL_OLD_SPACE_MB}`);
  if (!given("min-semi-space-size") && !given("max-semi-space-size")) v8.setFlagsFromString(`--min-semi-space-size=${MIN_SEMI_SPACE_MB}`);
}
