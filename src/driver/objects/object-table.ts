import { randomBytes } from "node:crypto";
import { segmentBytes } from "../../transport/frames.ts";
import type { ObjectRef } from "../../protocol/object-ref.ts";
import { ObjectEntry, type Kept, type TaskSpec } from "./object-entry.ts";
import type { ObjectHolder } from "./object-holder.ts";
import { Ref, refRecord, type RefOwner } from "./ref.ts";

/** The entry of a Ref made in this process (by any cluster), or undefined: how `progress(refs)` waits for one. */
export function entryOfAnyRef(ref: ObjectRef): ObjectEntry | undefined {
  const e = refRecord(ref);
  return e instanceof ObjectEntry ? e : undefined;
}

/**
 * Every object this driver created or caused, by Ref. The driver is the owner: it frees
 * an object once the user released it and no pending call still reads it, and it keeps
 * the task that made an object for as long as someone may need it remade.
 */
export class ObjectTable implements RefOwner {
  /** Objects not freed yet, for stats and for runner loss. */
  private readonly live = new Set<ObjectEntry>();
  /** Starts every object id of this driver: runners know the owner by it. */
  readonly prefix = randomBytes(6).toString("base64url");
  private next = 0;
  // A Ref the program dropped without release() is released when it is collected. The
  // held value is the entry, which must never point back at the Ref (not even through its
  // task's callbacks): the registry holds it strongly, so the Ref could never be collected.
  private readonly collected = new FinalizationRegistry<ObjectEntry>((e) => this.release(e));

  create<T>(task: TaskSpec | undefined): { ref: Ref<T>; entry: ObjectEntry } {
    const entry = new ObjectEntry(`${this.prefix}.${++this.next}`, task);
    entry.table = this;
    const ref = new Ref<T>(entry.id, this, entry);
    this.live.add(entry);
    this.collected.register(ref, entry, ref);
    return { ref, entry };
  }

  entryOf(ref: ObjectRef): ObjectEntry | undefined {
    const e = entryOfAnyRef(ref);
    return e?.table === this ? e : undefined;
  }

  /** Released by hand: the registry need not hold the entry for this Ref any more. */
  releaseRef(ref: ObjectRef, entry: object): void {
    this.collected.unregister(ref);
    this.release(entry as ObjectEntry);
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
    for (let i = 0; i < entries.length; i++) entries[i]!.pins++;
  }

  unpin(entries: readonly ObjectEntry[]): void {
    for (let i = 0; i < entries.length; i++) this.unpinOne(entries[i]!);
  }

  /** One entry: what a pending `get()` pins (no array of one for it). */
  pinOne(entry: ObjectEntry): void {
    entry.pins++;
  }

  unpinOne(entry: ObjectEntry): void {
    if (--entry.pins === 0 && entry.released) this.free(entry);
  }

  /** Drops every copy. A released object's task is still kept while a dependent's lineage names it. */
  private free(entry: ObjectEntry): void {
    if (entry.state === "pending") return; // freed when its task finishes (see `made`)
    const contacted = entry.forgetCopies();
    if (contacted !== undefined) for (const l of contacted) if (l.alive) l.free([entry.id]);
    entry.inline = undefined;
    if (entry.putOn !== undefined) entry.putOn.putBytes -= entry.bytes;
    entry.putOn = undefined;
    this.live.delete(entry);
    if (entry.state !== "failed") entry.set("freed");
  }

  /** Its task finished on `link`: the object is stored there, or (small) came back inline. */
  made(entry: ObjectEntry, link: ObjectHolder, kept: Kept): void {
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
  linkLost(link: ObjectHolder): void {
    for (const e of this.live) e.dropHolder(link);
  }
}
