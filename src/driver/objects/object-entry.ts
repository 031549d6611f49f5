import { ObjectLostError } from "../../errors.ts";
import type { Encoded } from "../../protocol/codec.ts";
import type { ModuleRef } from "../bundle.ts";
import type { ObjectHolder } from "./object-holder.ts";

/** What a call runs: enough to run it again (the lineage of the object it made). */
export interface TaskSpec {
  readonly module: ModuleRef;
  readonly exportName: string;
  /** Encoded arguments, without the Ref objects themselves (so they can be collected). */
  readonly args: Encoded;
  /** The objects the arguments refer to, in the order the runner is told about them. */
  readonly deps: readonly ObjectEntry[];
  /** Times a run may be sent again after its runner was lost. */
  readonly retries: number;
}

/**
 * What waits for an object's next change of state without a closure of its own: a graph
 * call waiting for an input is one (a closure and its context per wait were ~100 bytes the
 * young generation copied for every call of a graph being built, bench/dag.ts).
 */
export interface ObjectWaiter {
  objectChanged(): void;
}

/** The call making an object, as the graph ranks it (a PendingCall). */
export interface Producer {
  /** Longest chain of calls waiting on its result. */
  height: number;
  readonly settled: boolean;
  readonly deps: readonly ObjectEntry[];
}

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
  /** The table (one per cluster) that made it: a Ref from another cluster is refused. */
  table: object | undefined;
  // The two sets and the waiters are made on first use: most objects of a graph are small
  // results held here (`inline`), which no runner holds, and two Sets and an array per
  // f.ref() were garbage (and GC work) for nothing (bench/dag.ts).
  #holders: Set<ObjectHolder> | undefined;
  #contacted: Set<ObjectHolder> | undefined;
  /** Runners known to hold a copy. */
  get holders(): Set<ObjectHolder> {
    return (this.#holders ??= new Set());
  }
  /** The runner a `put` stored it on (its placement counts the bytes until freed). */
  putOn: ObjectHolder | undefined;
  /** A small task result, held here (encoded) and sent along with the calls that read it. */
  inline: Uint8Array[] | undefined;
  /** Runners that may hold a copy (sent it, or asked to fetch it): told to free it. */
  get contacted(): Set<ObjectHolder> {
    return (this.#contacted ??= new Set());
  }
  /** The user let go of the Ref (release(), `using`, or garbage collection). */
  released = false;
  /** Calls that will read it and have not settled yet: it is freed only after them. */
  pins = 0;
  /** Times its task was re-run to remake it. */
  rebuilds = 0;
  /** The call making it now, while pending: ranked by the calls that wait on it. */
  producer: Producer | undefined;
  private waiters: (ObjectWaiter | (() => void))[] | undefined;

  constructor(
    readonly id: string,
    /** How to remake it (lineage), for objects made by `f.ref()`; none for `put`. */
    readonly task: TaskSpec | undefined,
  ) {
    this.state = task === undefined ? "ready" : "pending";
  }

  /** Live runners with a copy. */
  liveHolders(): ObjectHolder[] {
    return this.#holders === undefined ? [] : [...this.#holders].filter((l) => l.alive);
  }

  /** Ready, and a copy can be had: here (inline) or on a live runner. */
  get available(): boolean {
    if (this.state !== "ready") return false;
    if (this.inline !== undefined) return true;
    if (this.#holders !== undefined) for (const l of this.#holders) if (l.alive) return true;
    return false;
  }

  holdsOn(link: ObjectHolder): boolean {
    return link.alive && this.#holders !== undefined && this.#holders.has(link);
  }

  /** Forgets every copy; returns the runners that may hold one, to be told to free it. */
  forgetCopies(): Set<ObjectHolder> | undefined {
    const contacted = this.#contacted;
    this.#contacted = undefined;
    this.#holders = undefined;
    return contacted;
  }

  /** `link` is gone: it holds nothing, and nothing need be freed there. */
  dropHolder(link: ObjectHolder): void {
    this.#holders?.delete(link);
    this.#contacted?.delete(link);
  }

  /** Calls `fn` (or `fn.objectChanged()`) at the next change of state (ready, failed, freed or re-pending). */
  onChange(fn: ObjectWaiter | (() => void)): void {
    if (this.waiters === undefined) this.waiters = [fn];
    else this.waiters.push(fn);
  }

  set(state: ObjectState, error?: Error): void {
    this.state = state;
    this.error = error;
    const waiters = this.waiters;
    if (waiters === undefined || waiters.length === 0) return;
    this.waiters = undefined;
    notify(waiters);
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
const notes: (ObjectWaiter | (() => void))[] = [];
let notifying = false;

function notify(waiters: (ObjectWaiter | (() => void))[]): void {
  for (let i = 0; i < waiters.length; i++) notes.push(waiters[i]!);
  if (notifying) return;
  notifying = true;
  let failure: unknown;
  for (let i = 0; i < notes.length; i++) {
    try {
      const w = notes[i]!;
      notes[i] = undefined as unknown as () => void; // let what ran be collected while the loop goes on
      if (typeof w === "function") w();
      else w.objectChanged();
    } catch (err) {
      failure ??= err; // the other waiters still run: none may be left hanging
    }
  }
  notes.length = 0;
  notifying = false;
  if (failure !== undefined) throw failure;
}

