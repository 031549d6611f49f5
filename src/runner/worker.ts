import { parentPort, threadId } from "node:worker_threads";
import { workerData } from "piscina";
import { packOutcomes, unpackTasks } from "./batch.ts";
import { abortCall, isThenable, loadCount, runOne } from "./call-runner.ts";
import { startChanRelay } from "./chan-relay.ts";
import { captureOutput, functionName, type OutputRoute } from "./call-output.ts";
import { serveGoroutines } from "./goroutines/on-thread.ts";
import { startLane } from "./lane.ts";
import { startGoRequests } from "./goroutines/go-request.ts";
import { startThreadMetrics } from "./metrics/thread-metrics.ts";
import { collectSoon } from "./gc-hint.ts";
import { Tls } from "../transport/secure.ts";
import { setRankConfig } from "./spmd/config.ts";
import { provideWasmRuntime } from "./wasm/runtime-hook.ts";
import { actorStats, onActorCount } from "./actors/actor-host.ts";
import { startActorClients } from "./actors/actor-client.ts";
import { provideExecRuntime } from "./exec/exec-runtime.ts";
import type { CallOutcome } from "./task.ts";
import { sharedPool } from "./snapshot-pool.ts";
import { ThreadChannel, type CallOutput, type OutcomeBatch, type TaskBatch, type WorkerData } from "./thread-messages.ts";

// A runner's worker thread. Piscina loads this module when it starts the thread: the
// thread opens its lane (its own server for direct calls) and its goroutine channel, then
// serves piscina tasks: batches of calls relayed by the runner's main thread.

// Bundles carry inline source maps: remote stacks then name the user's TypeScript lines.
process.setSourceMapsEnabled(true);
// What calls print goes to the drivers that asked for it (call-output.ts).
captureOutput();

/** Messages of output posted to the main thread so far: a batch's outcomes say how many precede them. */
let outputPosted = 0;
/** The lines of batched calls go to the main thread, which sends them on its connection to their driver. */
const toMainThread: OutputRoute = {
  send(batches) {
    const m: CallOutput = { kind: "call-output", thread: threadId, seq: ++outputPosted, lines: batches.map((b) => [b.key.id, functionName(b.key), b.stream, b.lines]) };
    parentPort?.postMessage(m);
  },
};

const lane = (workerData as WorkerData | undefined)?.lane;
// C programs as ranks, and Wasm kernels in modules, compile through the main thread's cache.
provideWasmRuntime(lane?.channel);
// Commands (cluster.exec) run in sandboxes under the cache directory, their inputs fetched through the main thread.
if (lane !== undefined) provideExecRuntime(lane.cacheDir, lane.channel);
if (lane !== undefined) {
  if (lane.metrics === true) startThreadMetrics(lane.channel); // before the lane takes calls
  // PEM from the main thread, made into a context once for all of this thread's connections.
  const tls = lane.tls === undefined ? undefined : new Tls(lane.tls);
  startLane(lane, tls);
  setRankConfig({ host: lane.host, token: lane.token, tls, maxFrame: lane.maxFrame, maxConnections: lane.maxConnections, info: lane.info, bind: lane.bind ?? "core" });
  startActorClients({ token: lane.token, tls, maxFrame: lane.maxFrame });
  startChanRelay(lane.channel);
  startGoRequests(lane.channel, lane.maxFrame);
  serveGoroutines(lane.channel, toMainThread, () => outputPosted);
  // The main thread says when a caller gave up on a call here: its context's signal aborts,
  // and the thread is stopped only if the call has not ended within the grace period.
  const threads = ThreadChannel.worker(lane.channel);
  threads.listen((m) => {
    if (m.kind === "abort-call") abortCall(m.job, m.reason);
    else if (m.kind === "return-buffers" && m.threadId === threadId) for (const b of m.buffers) sharedPool.release(b);
    else if (m.kind === "collect-garbage") collectSoon();
    else if (m.kind === "actor-stats-request" && lane.actors === true) threads.post({ kind: "actor-report", threadId, request: m.request, actors: actorStats() });
  });
  if (lane.actors === true) onActorCount((count, born, gone) => threads.post({ kind: "actor-count", threadId, count, born, gone }));
}

export default async function runBatch(batch: TaskBatch): Promise<OutcomeBatch> {
  const before = loadCount();
  const tasks = unpackTasks(batch);
  for (let i = 0; i < tasks.length; i++) if (batch.quiet?.[i] !== true) tasks[i]!.out = toMainThread;
  const started = tasks.map(runOne);
  const outcomes = started.some(isThenable) ? await Promise.all(started) : (started as CallOutcome[]);
  // Copied out of the user's memory; returned by structured clone, never by transfer
  // (a detach in this thread would slow every typed-array loop it runs afterwards).
  const packed = packOutcomes(outcomes, loadCount() - before);
  // The main thread holds these outcomes until it has the output posted before them.
  if (outputPosted > 0) packed.output = outputPosted;
  return packed;
}
