import { randomBytes } from "node:crypto";
import { ObjectLostError } from "../../errors.ts";
import { segmentBytes } from "../../transport/frames.ts";
import type { ObjectRef } from "../../protocol/object-ref.ts";
import type { PendingCall, TaskSpec } from "../calls/call.ts";
import { Ref } from "./ref.ts";
import type { RunnerLink } from "../link/runner-link.ts";

export type ObjectState =
  | "pending" // its task has not finished (or is being re-run)
  | "ready" // held by at least one runner
  | "failed" // its task failed: `error` says why, and every reader gets it
  | "freed"; // released (or its runners died): no copy is meant to exist

/** The driver's record of one object: where copies are, how to remake it, who still needs it. */
export class ObjectEntry {
  state: ObjectState;
  error: Error | undefined;
  bytes = 0;
  /** Runners known to hold a copy. */
  readonly holders = new Set<RunnerLink>();
  /** The runner a `put` stored it on (its placement counts the bytes until freed). */
  putOn: RunnerLink | undefined;
  /** A small task result, held here (encoded) and sent along with the calls that read it. */
  inline: Uint8Array[] | undefined;
  /** Runners that may hold a copy (sent it, or asked to fetch it): told to free it. */
  readonly contacted = new Set<RunnerLink>();
  /** The user let go of the Ref (release(), `using`, or garbage collection). */
  released = false;
  /** Calls that will read it and have not settled yet: it is freed only after them. */
  pins = 0;
  /** Times its task was re-run to remake it. */
  rebuilds = 0;
  /** The call making it now, while pending: ranked by the calls that wait on it. */
  producer: PendingCall | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    /** How to remake it (lineage), for objects made by `f.ref()`; none for `put`. */
    readonly task: TaskSpec | undefined,
  ) {
    this.state = task === undefined ? "ready" : "pending";
  }

  /** Live runners with a copy. */
  liveHolders(): RunnerLink[] {
    return [...this.holders].filter((l) => l.alive);
  }

  /** Ready, and a copy can be had: here (inline) or on a live runner. */
  get available(): boolean {
    if (this.state !== "ready") return false;
    if (this.inline !== undefined) return true;
    for (const l of this.holders) if (l.alive) return true;
    return false;
  }

  holdsOn(link: RunnerLink): boolean {
    return link.alive && this.holders.has(link);
  }

  /** Calls `fn` at the next change of state (ready, failed, freed or re-pending). */
  onChange(fn: () => void): void {
    this.waiters.push(fn);
  }

  set(state: ObjectState, error?: Error): void {
    this.state = state;
    this.error = error;
    notify(this.waiters.splice(0));
  }

  lost(reason: string): ObjectLostError {
    return new ObjectLostError(this.id, reason);
  }
}

/** What a runner answers for a kept result: its size, or the value itself (encoded) when small. */
export type Kept = { bytes: number; inline?: undefined } | { inline: Uint8Array[] };

// Waiters run from one loop, not from inside each other: a failure that runs down a chain
// of 20,000 waiting calls (each failing the object the next one waits for) would
// otherwise nest 20,000 calls deep and overflow the stack.
const notes: (() => void)[] = [];
let notifying = false;

function notify(waiters: (() => void)[]): void {
  notes.push(...waiters);
  if (notifying) return;
  notifying = true;
  let failure: unknown;
  for (let i = 0; i < notes.length; i++) {
    try {
      notes[i]!();
    } catch (err) {
      failure ??= err; // the other waiters still run: none may be left hanging
    }
  }
  notes.length = 0;
  notifying = false;
  if (failure !== undefined) throw failure;
}

export interface ObjectTableHost {
  /** Tells runners to drop their copies. */
  free(link: RunnerLink, ids: string[]): void;
}

/**
 * Every object this driver created or caused, by Ref. The driver is the owner: it frees
 * an object once the user released it and no pending call still reads it, and it keeps
 * the task that made an object for as long as someone may need it remade.
 */
export class ObjectTable {
  private readonly entries = new WeakMap<ObjectRef, ObjectEntry>();
  /** Objects not freed yet, for stats and for runner loss. */
  private readonly live = new Set<ObjectEntry>();
  /** Starts every object id of this driver: runners know the owner by it. */
  readonly prefix = randomBytes(6).toString("base64url");
  private next = 0;
  // A Ref the program dropped without release() is released when it is collected. The
  // held value is the entry, which must never point back at the Ref (not even through its
  // task's callbacks): the registry holds it strongly, so the Ref could never be collected.
  private readonly collected = new FinalizationRegistry<ObjectEntry>((e) => this.release(e));

  constructor(private readonly host: ObjectTableHost) {}

  create<T>(task: TaskSpec | undefined): { ref: Ref<T>; entry: ObjectEntry } {
    const entry = new ObjectEntry(`${this.prefix}.${++this.next}`, task);
    const ref = new Ref<T>(entry.id, () => {
      // Released by hand: the registry need not hold the entry for this Ref any more.
      this.collected.unregister(ref);
      this.release(entry);
    });
    this.entries.set(ref, entry);
    this.live.add(entry);
    this.collected.register(ref, entry, ref);
    return { ref, entry };
  }

  entryOf(ref: ObjectRef): ObjectEntry | undefined {
    return this.entries.get(ref);
  }

  get count(): number {
    return this.live.size;
  }

  get bytes(): number {
    let n = 0;
    for (const e of this.live) if (e.state === "ready") n += e.bytes;
    return n;
  }

  release(entry: ObjectEntry): void {
    if (entry.released) return;
    entry.released = true;
    if (entry.pins === 0) this.free(entry);
  }

  pin(entries: readonly ObjectEntry[]): void {
    for (const e of entries) e.pins++;
  }

  unpin(entries: readonly ObjectEntry[]): void {
    for (const e of entries) if (--e.pins === 0 && e.released) this.free(e);
  }

  /** Drops every copy. A released object's task is still kept while a dependent's lineage names it. */
  private free(entry: ObjectEntry): void {
    if (entry.state === "pending") return; // freed when its task finishes (see `made`)
    for (const l of entry.contacted) if (l.alive) this.host.free(l, [entry.id]);
    entry.contacted.clear();
    entry.holders.clear();
    entry.inline = undefined;
    if (entry.putOn !== undefined) entry.putOn.putBytes -= entry.bytes;
    entry.putOn = undefined;
    this.live.delete(entry);
    if (entry.state !== "failed") entry.set("freed");
  }

  /** Its task finished on `link`: the object is stored there, or (small) came back inline. */
  made(entry: ObjectEntry, link: RunnerLink, kept: Kept): void {
    if (kept.inline !== undefined) {
      entry.inline = kept.inline;
      entry.bytes = segmentBytes(kept.inline);
    } else {
      entry.bytes = kept.bytes;
      entry.holders.add(link);
      entry.contacted.add(link);
    }
    this.live.add(entry);
    entry.set("ready");
    if (entry.released && entry.pins === 0) this.free(entry);
  }

  failed(entry: ObjectEntry, error: Error): void {
    if (entry.released) this.live.delete(entry);
    entry.set("failed", error);
  }

  /** Marks it as being remade by its task again. */
  rebuilding(entry: ObjectEntry): void {
    entry.rebuilds++;
    entry.holders.clear();
    this.live.add(entry);
    entry.set("pending");
  }

  /** A runner died: its copies are gone. Objects left with none are remade when next needed. */
  linkLost(link: RunnerLink): void {
    for (const e of this.live) {
      e.holders.delete(link);
      e.contacted.delete(link);
    }
  }
}
