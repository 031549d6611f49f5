import { ObjectLostError, RunnerLostError, SerializationError } from "../../errors.ts";
import { decodeInline, encodeValue } from "../../protocol/codec.ts";
import type { ObjectEntry, ObjectWaiter } from "./object-entry.ts";
import type { ObjectHolder } from "./object-holder.ts";
import type { ObjectTable } from "./object-table.ts";
import type { Ref } from "./ref.ts";

/** The data plane as the driver drives it: put, broadcast and get of objects. */
export class ObjectOps {
  constructor(
    private readonly objects: ObjectTable,
    /** Resolves once the object can be had, remaking it if need be (the task graph's). */
    private readonly whenExists: (entry: ObjectEntry) => Promise<void>,
    private readonly links: () => readonly ObjectHolder[],
    /** Resolves once a runner is usable; rejects as a call waiting for one would fail (the scheduler's). */
    private readonly whenLive: (operation: string) => Promise<void>,
  ) {}

  /** Stores a value on the runner holding the fewest of this driver's put bytes. */
  put<T>(value: T): Promise<Ref<T>> {
    return this.store(value, "put");
  }

  private async store<T>(value: T, operation: string): Promise<Ref<T>> {
    const { refs, ...encoded } = encodeValue(value, "value");
    if (refs !== undefined) throw new SerializationError("value", "holds a Ref: objects cannot contain Refs (pass both to the call instead)");
    const link = (await this.live(operation)).reduce((a, b) => (b.putBytes < a.putBytes ? b : a));
    const { ref, entry } = this.objects.create<T>(undefined);
    entry.contacted.add(link);
    try {
      entry.bytes = await link.put(entry.id, encoded);
    } catch (err) {
      this.objects.failed(entry, err as Error);
      ref.release();
      throw err;
    }
    link.putBytes += entry.bytes;
    entry.putOn = link;
    entry.holders.add(link);
    return ref;
  }

  /**
   * Stores a value on every runner: one send from the driver, then copies fetched
   * runner to runner along a binary tree (each round doubles the holders).
   */
  async broadcast<T>(value: T): Promise<Ref<T>> {
    const ref = await this.store(value, "broadcast");
    const entry = this.objects.entryOf(ref)!;
    for (;;) {
      const missing = (await this.live("broadcast")).filter((l) => !entry.holders.has(l));
      if (missing.length === 0) return ref;
      const holders = entry.liveHolders();
      // Every copy died with its runners: nothing left to copy from (and looping would spin).
      if (holders.length === 0) throw entry.lost("every runner holding it was lost during the broadcast");
      await Promise.all(missing.slice(0, holders.length).map(async (target, i) => {
        entry.contacted.add(target);
        await target.pull(entry.id, holders[i]!.address);
        entry.holders.add(target);
      }));
    }
  }

  /** The value of an object: waits for it to be made, remakes it if its runners died. */
  get(entry: ObjectEntry): Promise<unknown> {
    // A small result came back with its call: decode it here, no waiting, no pinning.
    if (entry.inline !== undefined && entry.state === "ready") return decoded(entry.inline);
    // Still being made: one promise and one closure until it changes, then look again.
    // A program that gets every Ref of a 1,000-task graph as it builds it waits here
    // 1,000 times at once; the general path below (an async loop over whenExists) cost
    // ~7 µs of driver CPU more per get than a get of a finished object (bench/dag.ts).
    if (entry.state === "pending") {
      this.objects.pinOne(entry); // a release() meanwhile must not free it before this reads it
      return new Promise((resolve, reject) => entry.onChange(new PendingGet(this, entry, resolve, reject)));
    }
    return this.getHeld(entry);
  }

  /** A pending get's object changed (PendingGet): settle it, or look again. */
  settleGet(g: PendingGet): void {
    const entry = g.entry;
    // A small result (the common case) settles the promise at once: through a second
    // promise (decoded(), then .then) it cost two more promises and a microtask per get.
    if (entry.inline !== undefined && entry.state === "ready") {
      try {
        g.resolve(decodeInline(entry.inline));
      } catch (err) {
        g.reject(err as Error);
      } finally {
        this.objects.unpinOne(entry);
      }
      return;
    }
    const value = this.get(entry);
    this.objects.unpinOne(entry);
    value.then(g.resolve, g.reject);
  }

  private async getHeld(entry: ObjectEntry): Promise<unknown> {
    this.objects.pin([entry]);
    try {
      for (let attempt = 0; ; attempt++) {
        await this.whenExists(entry);
        if (entry.inline !== undefined) return decodeInline(entry.inline);
        const holder = entry.liveHolders()[0]!;
        try {
          return await holder.fetch(entry.id);
        } catch (err) {
          if (attempt >= 3 || !(err instanceof ObjectLostError || err instanceof RunnerLostError)) throw err;
          entry.holders.delete(holder); // it does not have it after all: look again
        }
      }
    } finally {
      this.objects.unpin([entry]);
    }
  }

  /** The usable runners; with none, waits for one (`waitForRunners`). */
  private async live(operation: string): Promise<ObjectHolder[]> {
    for (;;) {
      const live = this.links().filter((l) => l.usable);
      if (live.length > 0) return live;
      await this.whenLive(operation);
    }
  }
}

/**
 * A `get()` waiting for its object to be made: one object where a closure and its context
 * were (a program that gets every Ref of a 1,000-task graph as it builds it holds 1,000).
 */
class PendingGet implements ObjectWaiter {
  constructor(
    private readonly ops: ObjectOps,
    readonly entry: ObjectEntry,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: Error) => void,
  ) {}

  objectChanged(): void {
    this.ops.settleGet(this);
  }
}

/** The value of a small result held here, as a settled promise. */
function decoded(inline: Uint8Array[]): Promise<unknown> {
  try {
    return Promise.resolve(decodeInline(inline));
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
