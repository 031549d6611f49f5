import { ProtocolError } from "../errors.ts";
import { encodeTrusted } from "../protocol/codec.ts";
import { INLINE_MAX, type Header, type T } from "../protocol/messages.ts";
import { segmentBytes } from "../transport/frames.ts";
import type { StoredObject } from "./object-store.ts";
import { errorOutcome } from "./result-frame.ts";
import type { CallOutcome, ObjectDeps } from "./task.ts";

// How a runner takes in a call, whichever way it came (its main link, session.ts, or a
// thread's lane, lane.ts): what the Call frame holds, where the call's inputs are, and
// what becomes of a result the call keeps. The two paths differ only in what they can
// reach: a lane's thread has no object store, so it takes only inputs that came inline.

/** A Call header, as `readHeader` passed it (every field checked against the message table, its deps included). */
export type CallHeader = Extract<Header, [T.Call, ...unknown[]]>;

/** An input held by a runner: [object id, the runner to fetch it from, or null: this one holds it]. */
export type StoredInput = [objectId: string, holder: string | null];

/** A Call frame, read. */
export interface CallIntake {
  /** The driver's call id. */
  id: number;
  /** The module, as the driver declared it on this connection (Module). */
  moduleRef: number;
  exportName: string;
  /** Never batched, and cancellable: its thread may be stopped for it (main link only). */
  solo: boolean;
  /** Holds channels (a goroutine): shares a thread instead of holding one (main link only). */
  concurrent: boolean;
  /** The encoded arguments: body, then attachments (views of the frame). */
  args: Uint8Array[];
  /** Inputs whose values came at the end of the frame, after the arguments. */
  inline: ObjectDeps | undefined;
  /** Inputs a runner holds: looked up in the store, or fetched from their holder. */
  stored: StoredInput[] | undefined;
  /** Store the result under this object id (an `f.ref()` call). */
  keep: string | undefined;
  /** A batched call's (T.Calls): the frame's bodies, its arguments at `argsAt` among them (read in place). */
  argsIn?: Uint8Array | undefined;
  argsAt?: number | undefined;
}

/**
 * Reads a Call frame: its header's fields and how its segments split into the arguments
 * and the inputs sent inline (each inline input has its `n` last segments, in the order of
 * the list). Throws ProtocolError for a frame that does not add up.
 */
export function readCall(h: CallHeader, segs: Uint8Array[]): CallIntake {
  const deps = h[5];
  if (segs.length < 2) throw new ProtocolError("malformed call: no arguments");
  // A plain call (the common case) has nothing more to read. Measured (2M reads of a plain
  // lane call in a loop): 50-80 ns each, against 36-86 ns for the lane's own reading it replaced.
  if (deps === undefined || deps === null || deps.length === 0) return intake(h, segs.slice(1), undefined, undefined);
  let inlineSegments = 0;
  for (const d of deps) {
    if (!Array.isArray(d) || typeof d[0] !== "string" || (d[1] !== null && typeof d[1] !== "string")) throw new ProtocolError("malformed dependency");
    const n = d[2];
    if (n === undefined || n === null) continue;
    if (!Number.isInteger(n) || n < 1) throw new ProtocolError("malformed inline object: it needs at least one segment");
    inlineSegments += n;
  }
  if (inlineSegments > segs.length - 2) throw new ProtocolError("malformed inline objects: more segments than the frame has");
  let at = segs.length - inlineSegments;
  const args = segs.slice(1, at);
  let inline: ObjectDeps | undefined;
  let stored: StoredInput[] | undefined;
  for (const [objectId, holder, n] of deps) {
    if (n === undefined || n === null) (stored ??= []).push([objectId, holder]);
    else (inline ??= []).push([objectId, segs.slice(at, (at += n))]);
  }
  return intake(h, args, inline, stored);
}

function intake(h: CallHeader, args: Uint8Array[], inline: ObjectDeps | undefined, stored: StoredInput[] | undefined): CallIntake {
  return { id: h[1], moduleRef: h[2], exportName: h[3], solo: h[4], concurrent: h[7] === true, args, inline, stored, keep: h[6] ?? undefined };
}

/** A lane call's inputs: a thread has no object store, so they must all have come inline. */
export function laneInputs(call: CallIntake): ObjectDeps | undefined {
  if (call.stored !== undefined) throw new ProtocolError("a lane call may only carry inline objects");
  return call.inline;
}

/**
 * A main-link call's inputs, as its worker reads them: the inline ones as they came, the
 * stored ones from `find` (this runner's store, or fetched from their holder). A promise
 * only when one of them must be waited for.
 */
export function gatherInputs(
  call: CallIntake,
  find: (objectId: string, holder: string | null) => StoredObject | Promise<StoredObject>,
): ObjectDeps | Promise<ObjectDeps> | undefined {
  const { inline, stored } = call;
  if (stored === undefined) return inline;
  const found = stored.map(([objectId, holder]) => find(objectId, holder));
  const pair = (objects: StoredObject[]): ObjectDeps => {
    const deps: ObjectDeps = inline === undefined ? [] : [...inline];
    objects.forEach((o, i) => deps.push([stored[i]![0], o.segments]));
    return deps;
  };
  return found.some((o) => o instanceof Promise) ? Promise.all(found).then(pair) : pair(found as StoredObject[]);
}

/**
 * What a kept call (`f.ref()`) answers. A small result goes back whole: the driver keeps it
 * and hands it to the calls that read it (as Ray's owners do), so no call waits for a
 * runner-to-runner fetch of a few bytes. A bigger one goes into the runner's store through
 * `store` (which returns its size, or throws: store full, owner gone), and only its size
 * goes back. A promise only when `store` returns one (from a lane, the store is the main
 * thread's; a full store answers once spilling made room).
 */
export function keptOutcome(objectId: string, o: CallOutcome, store: (objectId: string, segments: Uint8Array[]) => number): CallOutcome;
export function keptOutcome(objectId: string, o: CallOutcome, store: (objectId: string, segments: Uint8Array[]) => number | Promise<number>): CallOutcome | Promise<CallOutcome>;
export function keptOutcome(
  objectId: string,
  o: CallOutcome,
  store: (objectId: string, segments: Uint8Array[]) => number | Promise<number>,
): CallOutcome | Promise<CallOutcome> {
  if (!o.ok) return o;
  if (segmentBytes(o.segments) <= INLINE_MAX) {
    // Marked in place: the outcome is this call's alone. A copy by spread (outcomes differ in
    // shape: `lent`, `startedAt`) was ~1 µs per kept call on the thread's profile (bench/dag.ts).
    o.inline = true;
    return o;
  }
  // Stored: its segments are the store's now, so their pooled buffers never go back (`lent`).
  const sized = (bytes: number): CallOutcome => {
    const out: CallOutcome = { ...o, segments: [encodeTrusted(bytes).body] };
    delete out.lent;
    return out;
  };
  const failed = (err: unknown): CallOutcome => errorOutcome(o.id, err as Error);
  let bytes: number | Promise<number>;
  try {
    bytes = store(objectId, o.segments);
  } catch (err) {
    return failed(err);
  }
  return typeof bytes === "number" ? sized(bytes) : bytes.then(sized, failed);
}
