import { pathToFileURL } from "node:url";
import { callSettled, callStarted } from "./goroutines/locality.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import { provideContext, type CallContext } from "../context.ts";
import { CancelledError, ImportError } from "../errors.ts";
import { BodySlab } from "../protocol/body-slab.ts";
import { decodeValue, decodeValueIn, encodeValue, type Encoded } from "../protocol/codec.ts";
import { RANK_EXPORT_PREFIX } from "../protocol/spmd-wire.ts";
import { parseActorOp } from "../protocol/actor-wire.ts";
import { functionOf } from "../protocol/function-name.ts";
import { runActorOp } from "./actors/actor-host.ts";
import { epochMicros } from "../protocol/activity.ts";
import { errorCode, threadMetrics } from "./metrics/thread-metrics.ts";
import { runRank } from "./spmd/rank.ts";
import { callAs, callEnded, callLoading } from "./call-output.ts";
import { trimStacks } from "./remote-stack.ts";
import { noteExports } from "./goroutines/go-request.ts";
import type { CallOutcome, CallTask, ObjectDeps } from "./task.ts";

// Runs on a worker thread: loads bundles by path (once per thread) and runs calls,
// whether they came in a batch from the runner's main thread (worker.ts) or straight
// from a driver over this thread's own connection (lane.ts). Results are encoded here.

type ModuleNamespace = Record<string, unknown>;
const loading = new Map<string, Promise<ModuleNamespace>>();
/** Modules already imported, for the synchronous fast path. */
const loaded = new Map<string, ModuleNamespace>();
let loads = 0;

/** Modules imported by this thread so far. */
export const loadCount = (): number => loads;

function load(path: string): Promise<ModuleNamespace> {
  let m = loading.get(path);
  if (m === undefined) {
    loads++;
    m = (import(pathToFileURL(path).href) as Promise<ModuleNamespace>).then((ns) => {
      loaded.set(path, ns);
      noteExports(path, ns);
      return ns;
    });
    loading.set(path, m);
    m.catch(() => loading.delete(path)); // a failed load may be retried by a later call
  }
  return m;
}

export function encodeThrown(thrown: unknown): Encoded {
  const err = thrown instanceof Error ? thrown : Object.assign(new Error(`non-error value thrown: ${String(thrown)}`), { name: "NonErrorThrown" });
  trimStacks(err); // the user's frames, not the runner's below them
  try {
    return encodeValue(err, "error");
  } catch {
    // Its cause or fields cannot travel: send what can.
    const plain = new Error(err.message);
    plain.name = err.name;
    plain.stack = err.stack ?? "";
    return encodeValue(plain, "error");
  }
}

export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";

/** `thrown`: what the call failed with (undefined: it succeeded). */
function outcome(task: CallTask, t0: number, enc: Encoded, thrown?: unknown): CallOutcome {
  if (task.cancellable === true) aborts.delete(task.id);
  callEnded(task); // its output goes before its result
  callSettled();
  const execMicros = Math.round((performance.now() - t0) * 1000);
  threadMetrics?.calls.settled(functionName(task), execMicros / 1e6, thrown === undefined ? undefined : errorCode(thrown));
  const segments = enc.attachments.length === 0 ? [enc.body] : [enc.body, ...enc.attachments];
  return { id: task.id, ok: thrown === undefined, segments, execMicros, startedAt: epochMicros(t0) };
}

function failed(task: CallTask, t0: number, thrown: unknown): CallOutcome {
  return outcome(task, t0, encodeThrown(thrown), thrown ?? new Error(String(thrown)));
}

/** The function a task runs (an SPMD rank is counted as its export, an actor's call as `Class.method`). */
const functionName = (task: CallTask): string => functionOf(task.exportName);

/**
 * Where a lane call's small result body is encoded (task.slabResult): a view of a buffer
 * shared with the next results instead of an ArrayBuffer of its own per call (a malloc, a
 * free and a backing store for the collector to track, on every lone call).
 */
const resultSlab = new BodySlab();

function succeed(task: CallTask, t0: number, value: unknown): CallOutcome {
  let enc: Encoded;
  try {
    enc = encodeValue(value, "result", task.slabResult === true ? resultSlab : undefined);
  } catch (err) {
    return failed(task, t0, err);
  }
  return outcome(task, t0, enc);
}

function start(task: CallTask, ns: ModuleNamespace, t0: number): CallOutcome | Promise<CallOutcome> {
  let value: unknown;
  try {
    value = invoke(task, ns);
  } catch (err) {
    return failed(task, t0, err);
  }
  // Synchronous functions (most tiny calls) finish without a promise.
  if (!isThenable(value)) return succeed(task, t0, value);
  return Promise.resolve(value).then(
    (v) => succeed(task, t0, v),
    (err: unknown) => failed(task, t0, err),
  );
}

/** Runs the call's code: an export, an SPMD rank, or an actor's construction, method or end. */
function invoke(task: CallTask, ns: ModuleNamespace): unknown {
  const actorOp = parseActorOp(task.exportName);
  // Actor operations run in the actor's mailbox (actors/actor-host.ts).
  if (actorOp !== undefined) {
    const signal = task.signal;
    const run = (f: (...a: unknown[]) => unknown, a: unknown[]): unknown => callAs(task, f, a);
    return runActorOp(actorOp, ns, decodeArgs(task), signal === undefined ? run : (f, a) => running.run({ signal }, () => run(f, a)), signal);
  }
  // A rank of an SPMD job is a call of the export under a prefix (see spmd-wire.ts).
  const rank = task.exportName.startsWith(RANK_EXPORT_PREFIX);
  const name = rank ? task.exportName.slice(RANK_EXPORT_PREFIX.length) : task.exportName;
  const fn = ns[name];
  if (typeof fn !== "function") {
    throw new ImportError(fn === undefined ? `module has no export "${name}"` : `export "${name}" is a ${typeof fn}, not a function`);
  }
  const f = fn as (...a: unknown[]) => unknown;
  const decoded = decodeArgs(task);
  if (rank) return runRank(decoded, (a) => callAs(task, f, a));
  return task.cancellable === true ? running.run(contextFor(task.id), () => callAs(task, f, decoded)) : callAs(task, f, decoded);
}

/**
 * A call's arguments, decoded. A function of its own, not a closure in `invoke`: the runner
 * bundle run from source keeps function names (esbuild's keepNames), which names every
 * closure with Object.defineProperty as it is made, ~4% of a lane thread's CPU on the
 * 1,000-task graph (bench/dag.ts, perf).
 */
function decodeArgs(task: CallTask): unknown[] {
  const segs = task.segments;
  const at = task.argsAt;
  if (at !== undefined && task.argsIn !== undefined && segs.length === 1 && task.deps === undefined) return decodeValueIn(task.argsIn, at, at + segs[0]!.byteLength) as unknown[];
  const attachments = segs.length === 1 ? NO_SEGMENTS : segs.slice(1);
  return decodeValue(segs[0]!, attachments, task.deps === undefined ? undefined : objectValues(task.deps)) as unknown[];
}

const NO_SEGMENTS: readonly Uint8Array[] = Object.freeze([]);

/**
 * The values Refs stand for. Big typed arrays come out as views of the runner's shared
 * store: every call on this runner reads the same memory, so they are read-only by
 * contract (as Ray's zero-copy arrays are).
 */
function objectValues(deps: ObjectDeps): Map<string, unknown> {
  const values = new Map<string, unknown>();
  // No rest pattern: it copied every input's attachments into a new array (most have none).
  for (const [id, segments] of deps) values.set(id, decodeValue(segments[0]!, segments.length === 1 ? NO_SEGMENTS : segments.slice(1)));
  return values;
}

// Cancellable calls run inside an AsyncLocalStorage context, so `context()` finds their
// signal across awaits. Plain calls skip it (no cost on the hot path): their signal never aborts.
const running = new AsyncLocalStorage<CallContext>();
const aborts = new Map<number, AbortController>();
provideContext(() => running.getStore());

function contextFor(id: number): CallContext {
  const ac = new AbortController();
  aborts.set(id, ac);
  return { signal: ac.signal };
}

/** The caller gave up on a call running on this thread: its context's signal aborts. */
export function abortCall(id: number, reason: string): void {
  const ac = aborts.get(id);
  aborts.delete(id);
  ac?.abort(new CancelledError(reason));
}

export function runOne(task: CallTask): CallOutcome | Promise<CallOutcome> {
  const t0 = performance.now();
  threadMetrics?.calls.started(functionName(task));
  callStarted();
  const ns = loaded.get(task.modulePath);
  if (ns !== undefined) return start(task, ns, t0);
  callLoading(task);
  return load(task.modulePath).then(
    (m) => start(task, m, t0),
    (err: unknown) => failed(task, t0, new ImportError(`cannot load module: ${(err as Error).message}`, { cause: err })),
  );
}

