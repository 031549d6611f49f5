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

export function sizeThreadHeaps(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => /^--initial[-_]old[-_]space[-_]size/.test(a));
  if (!given) v8.setFlagsFromString(`--initial-old-space-size=${INITIAL_OLD_SPACE_MB}`);
}
