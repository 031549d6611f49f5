import { BroadcastChannel, threadId } from "node:worker_threads";
import { GoroutineLimitError } from "../../errors.ts";
import { packOutcomes, unpackTasks } from "../batch.ts";
import { isThenable, loadCount, runOne } from "../call-runner.ts";
import type { OutputRoute } from "../call-output.ts";
import { heapRefusal } from "./limit.ts";
import { errorOutcome } from "../result-frame.ts";
import type { CallOutcome } from "../task.ts";
import { goroutineChannelName, type GoroutineEnded, type GoroutinesReady, type StartGoroutine } from "../thread-messages.ts";

// Runs on a worker thread: goroutines the main thread hands to this thread (those that came
// over the main link; see dispatch.ts). Each runs as a lane call does, beside
// everything else on the thread: a blocked one is a suspended async function, nothing more.

/**
 * Serves this thread's goroutine channel. `out`: where what they print goes (the main thread,
 * as for batched calls); `outputPosted`: how many such messages went so far, which outcomes
 * wait for on the main thread so that a goroutine's lines reach its driver first.
 */
export function serveGoroutines(channel: string, out: OutputRoute, outputPosted: () => number): void {
  const bc = new BroadcastChannel(goroutineChannelName(channel, threadId));
  bc.unref(); // it must not keep the thread alive
  // Outcomes of one tick go back as one message (a closed channel ends thousands at once).
  let ended: CallOutcome[] = [];
  let loadsBefore = loadCount();
  const flush = (): void => {
    const outcome = packOutcomes(ended, loadCount() - loadsBefore);
    ended = [];
    loadsBefore = loadCount();
    const seq = outputPosted();
    if (seq > 0) outcome.output = seq;
    bc.postMessage({ kind: "goroutine-ended", outcome } satisfies GoroutineEnded);
  };
  const end = (o: CallOutcome): void => {
    if (ended.push(o) === 1) queueMicrotask(flush);
  };
  bc.onmessage = (ev: unknown) => {
    const m = (ev as { data: StartGoroutine }).data;
    if (m.kind !== "go") return;
    const tasks = unpackTasks(m.task);
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      // The main thread counted it in against its own heap; this thread's heap holds it.
      const full = heapRefusal();
      if (full !== undefined) {
        end(errorOutcome(task.id, new GoroutineLimitError("", full)));
        continue;
      }
      if (m.task.quiet?.[i] !== true) task.out = out;
      const r = runOne(task);
      if (isThenable(r)) void r.then(end);
      else end(r);
    }
  };
  // On the runner's channel of threads, through a handle of its own closed at once: a
  // handle left open there would receive (and copy) every message of every thread.
  const ready = new BroadcastChannel(channel);
  ready.postMessage({ kind: "goroutines-ready", threadId } satisfies GoroutinesReady);
  ready.close();
}
