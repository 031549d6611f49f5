import { AsyncLocalStorage } from "node:async_hooks";
import { functionOf } from "../protocol/function-name.ts";
import { OutputLines, STDERR, STDOUT, type LineBatch, type StreamNo } from "./output-lines.ts";

// Runs on a worker thread: what the calls running here write to stdout and stderr
// (console.* included, which writes there) is taken from the thread's streams, cut into
// lines per call, and handed to the way each call came (its lane, or the main thread), to
// reach the driver that asked for it. Output that belongs to no call, or to a call whose
// driver did not ask, goes to the thread's streams as before: the runner's own stdout.
//
// Whose output is it? While a function's synchronous part runs, a variable says. After
// that (async functions), output belongs to the one async call in flight here, when there
// is one; a function started while an async call is in flight runs inside an
// AsyncLocalStorage, which follows it across awaits (unless it is known to return no
// promise). Enabling one costs every promise of the thread (~150 ns each, measured on
// Node 20), so a thread that never runs two async calls at once never pays it. A timer
// left by a call that has returned prints as the call in flight then (if one, and not in
// the store), or as its own call (if that ran in the store), else as the runner.

/** A call, as its output sees it. */
export interface OutputOwner {
  readonly id: number;
  readonly exportName: string;
  /** Where its lines go; absent: its driver did not ask for them (they stay on the runner). */
  readonly out?: OutputRoute | undefined;
  /** Its driver's id prefix, when known (what `go()` inside it asks: runner/goroutines/go-request.ts). */
  readonly driver?: string | undefined;
}

/** A way calls come to this thread, which their lines go back by. */
export interface OutputRoute {
  /** Lines of calls that came this way, in the order they were written. */
  send(batches: LineBatch<OutputOwner>[]): void;
}

/** The function a call runs, as a driver names it (an SPMD rank's export without its prefix). */
export const functionName = (o: OutputOwner): string => functionOf(o.exportName);

const lines = new OutputLines<OutputOwner>();
/** The call whose synchronous part is running. */
let current: OutputOwner | undefined;
/** Async calls in flight that run in no store: output outside any call's own code is theirs if there is one. */
const bare = new Set<OutputOwner>();
/** Async calls in flight that run in `store`. */
const wrapped = new Set<OutputOwner>();
const store = new AsyncLocalStorage<OutputOwner>();
let storeUsed = false;
/** Functions that returned no promise: they need no store when another call is in flight. */
const syncFunctions = new WeakSet<object>();
let flushScheduled = false;
let installed = false;

type Fn = (...args: unknown[]) => unknown;

/** Calls `f(...args)` as `call`'s own code: what it writes is that call's. */
export function callAs(call: OutputOwner, f: Fn, args: unknown[]): unknown {
  if (bare.size > 0) bare.delete(call); // it was loading its module
  const inStore = bare.size > 0 && !syncFunctions.has(f);
  const prev = current;
  current = call;
  let value: unknown;
  try {
    if (inStore) {
      storeUsed = true;
      wrapped.add(call);
      value = store.run(call, f, ...args);
    } else {
      value = f(...args);
    }
  } finally {
    current = prev;
  }
  if ((typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function") {
    if (!inStore) bare.add(call);
  } else if (inStore) {
    syncFunctions.add(f); // it did not need the store: next time it runs without
  }
  return value;
}

/** The call waits for its module to load: what the module prints at its top level is the call's, if it can be told. */
export function callLoading(call: OutputOwner): void {
  bare.add(call);
}

/** The call is over: what it printed goes out now, ahead of its result. */
export function callEnded(call: OutputOwner): void {
  if (bare.size > 0) bare.delete(call);
  if (wrapped.size > 0) wrapped.delete(call);
  if (!lines.has(call)) return;
  lines.end(call);
  flush();
}

/** Sends every pending line now (before a result, or before the thread dies). */
export function flushOutput(): void {
  flush();
}

/** The call whose code is running now, as its output would be told (go-request.ts asks). */
export function runningCall(): OutputOwner | undefined {
  return owner().call;
}

function owner(): { call: OutputOwner | undefined; late: boolean } {
  if (current !== undefined) return { call: current, late: false };
  const s = storeUsed ? store.getStore() : undefined;
  if (s !== undefined) return { call: s, late: !wrapped.has(s) };
  if (bare.size === 1) for (const b of bare) return { call: b, late: false };
  return { call: undefined, late: false };
}

function flush(): void {
  flushScheduled = false;
  if (lines.empty) return;
  const batches = lines.take();
  let route = batches[0]!.key.out!;
  let from = 0;
  for (let i = 1; i <= batches.length; i++) {
    const next = batches[i]?.key.out;
    if (next === route) continue;
    route.send(batches.slice(from, i));
    if (next === undefined) break;
    route = next;
    from = i;
  }
}

/** Write callbacks, called together on the next tick as a stream would (console passes the same one every time). */
let callbacks: [(err?: Error | null) => void, number][] = [];
function callBack(cb: (err?: Error | null) => void): void {
  const last = callbacks.at(-1);
  if (last !== undefined && last[0] === cb) {
    last[1]++;
    return;
  }
  if (callbacks.length === 0) {
    process.nextTick(() => {
      const due = callbacks;
      callbacks = [];
      for (const [f, n] of due) for (let i = 0; i < n; i++) f(null);
    });
  }
  callbacks.push([cb, 1]);
}

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

function capture(stream: StreamNo, original: Write): Write {
  return function (this: unknown, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const { call, late } = owner();
    if (call?.out === undefined) return original.call(this, chunk, encoding, cb);
    const text = typeof chunk === "string" ? chunk
      : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString()
        : String(chunk);
    lines.write(call, stream, text);
    if (late) lines.end(call); // its call is over: nothing more will complete its line
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
    const done = typeof encoding === "function" ? encoding : cb;
    if (typeof done === "function") callBack(done as (err?: Error | null) => void);
    return true;
  };
}

/** Takes this thread's stdout and stderr (once): call output goes to its drivers from now on. */
export function captureOutput(): void {
  if (installed) return;
  installed = true;
  process.stdout.write = capture(STDOUT, process.stdout.write.bind(process.stdout) as Write) as typeof process.stdout.write;
  process.stderr.write = capture(STDERR, process.stderr.write.bind(process.stderr) as Write) as typeof process.stderr.write;
}
