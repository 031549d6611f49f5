import os from "node:os";
import { ObjectLostError, ObjectStoreFullError } from "../errors.ts";
import { segmentBytes } from "../transport/frames.ts";
import { SPILL_BATCH, type SpillDir, type SpillPlace } from "./spill.ts";

/** Segments at least this big live in shared memory: every thread reads them in place. */
const SHARE_MIN = 64 * 1024;

export interface StoredObject {
  /** Encoded value: msgpack body, then attachments. */
  readonly segments: Uint8Array[];
  readonly bytes: number;
  /** The driver session that owns it: its release or departure frees the object. */
  readonly owner: object;
}

/** What the store knows of an object without reading it (it may be on disk). */
export interface ObjectInfo {
  readonly bytes: number;
  readonly owner: object;
}

/** An object of the store, in memory, on disk, or both (restored, or spilled and still held by a reader). */
interface Entry extends ObjectInfo {
  readonly id: string;
  /** In memory (undefined: only on disk). */
  segments: Uint8Array[] | undefined;
  /** On disk (undefined: never spilled). An object in memory with a place is evicted without a write. */
  place: SpillPlace | undefined;
  /** Calls running with it as an input: not evicted meanwhile (a copy read back would be a second one in memory). */
  pins: number;
  /** In the batch being written. */
  spilling: boolean;
  restoring: Promise<StoredObject> | undefined;
  /** Its bytes count in `used` (in memory, or room reserved to read it back). */
  charged: boolean;
  freed: boolean;
}

/** A put or a restore waiting for room. */
interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The default budget: 30% of the host's memory, as Ray's object store. */
export const defaultObjectMemory = (): number => Math.floor(os.totalmem() * 0.3);

/**
 * A runner's objects: values put by drivers, results kept by `f.ref()` calls, and
 * copies fetched from other runners. Big segments are kept in SharedArrayBuffers so a
 * call on any thread reads them without a copy, and one copy serves every call.
 *
 * Over its budget, the store spills the least recently used objects to its spill directory
 * (a batch of them per file, one writev each) and reads them back when they are wanted
 * again; what cannot be made room for (an object bigger than the budget, a failed write:
 * a full disk) is refused with ObjectStoreFullError. Without a spill directory, over the
 * budget is refused at once.
 *
 * Freeing only forgets: a call still running keeps its memory alive through its own
 * references, and the garbage collector returns it after.
 */
export class ObjectStore {
  private readonly objects = new Map<string, Entry>();
  /** The objects in memory, least recently used first (a Map keeps insertion order: a use moves it to the end). */
  private readonly resident = new Map<string, Entry>();
  private readonly fetching = new Map<string, Promise<StoredObject>>();
  /** Owners that left: an object fetched for one after it left is not kept (nobody would free it). */
  private readonly departed = new WeakSet<object>();
  private readonly waiters: Waiter[] = [];
  private writing = false;
  /** Bytes in memory, or reserved for objects on their way back from disk. */
  used = 0;
  fetches = 0;
  bytesFetched = 0;
  served = 0;
  /** Objects refused for want of room (ObjectStoreFullError). */
  refused = 0;
  /** Objects written to disk, and their bytes (a restored object evicted again is not written again). */
  spills = 0;
  bytesSpilled = 0;
  /** Objects read back from disk, and their bytes. */
  restores = 0;
  bytesRestored = 0;
  /** Batch files written. */
  spillBatches = 0;
  /** Objects only on disk now, and their bytes. */
  onDisk = 0;
  bytesOnDisk = 0;

  /** Bytes dropped (evicted or freed) since the last `reclaim`. */
  private dropped = 0;

  /**
   * `spill`: where to spill over the budget (none: refuse instead). `reclaim`: called when
   * the store has dropped a batch's worth of memory, for the runtime to take it back
   * (runner/gc-hint.ts).
   */
  constructor(readonly limit: number = defaultObjectMemory(), private readonly spill?: SpillDir, private readonly reclaim?: () => void) {}

  get size(): number {
    return this.objects.size;
  }

  /** Bytes a spill writes at once (fewer when the object that needs the room is bigger). */
  private get batchBytes(): number {
    return Math.min(SPILL_BATCH, Math.floor(this.limit / 4));
  }

  /** The object's size and owner, without reading it back. */
  get(id: string): ObjectInfo | undefined {
    return this.objects.get(id);
  }

  /** The object's value: in memory now, or a promise when it is read back from disk. Undefined if not held. */
  read(id: string): StoredObject | Promise<StoredObject> | undefined {
    const e = this.objects.get(id);
    if (e === undefined) return undefined;
    if (e.segments !== undefined) {
      this.touch(e);
      return { segments: e.segments, bytes: e.bytes, owner: e.owner };
    }
    return (e.restoring ??= this.restore(e));
  }

  /** Stores an encoded value (once there is room), or throws ObjectStoreFullError. Re-storing an id replaces it. */
  put(id: string, segments: readonly Uint8Array[], owner: object): StoredObject | Promise<StoredObject> {
    const bytes = segmentBytes(segments);
    if (this.objects.has(id)) this.free(id);
    if (bytes > this.limit || (this.spill === undefined && this.used + bytes > this.limit)) {
      this.refused++;
      throw bytes > this.limit
        ? new ObjectStoreFullError(bytes, this.used, this.limit, "the object is bigger than the whole budget (raise --object-memory)")
        : new ObjectStoreFullError(bytes, this.used, this.limit);
    }
    const kept = segments.map(keep);
    const room = this.reserve(bytes);
    if (room === undefined) return this.insert(id, kept, bytes, owner);
    return room.then(() => this.insert(id, kept, bytes, owner), (err: Error) => {
      this.refused++;
      throw err;
    });
  }

  private insert(id: string, segments: Uint8Array[], bytes: number, owner: object): StoredObject {
    if (this.departed.has(owner)) {
      // Its owner left while it waited for room: kept now, it would never be freed.
      this.uncharge(bytes);
      return { segments, bytes, owner };
    }
    if (this.objects.has(id)) this.free(id);
    const e: Entry = { id, owner, bytes, segments, place: undefined, pins: 0, spilling: false, restoring: undefined, charged: true, freed: false };
    this.objects.set(id, e);
    this.resident.set(id, e);
    return { segments, bytes, owner };
  }

  free(id: string): void {
    const e = this.objects.get(id);
    if (e === undefined) return;
    this.objects.delete(id);
    this.resident.delete(id);
    e.freed = true;
    if (e.segments === undefined && e.place !== undefined) {
      this.onDisk--;
      this.bytesOnDisk -= e.bytes;
    }
    if (e.place !== undefined) this.unplace(e.place);
    if (e.charged) {
      e.charged = false;
      this.uncharge(e.bytes);
    }
  }

  /** A driver left: its objects go with it. */
  freeOwnedBy(owner: object): void {
    this.departed.add(owner);
    for (const [id, obj] of this.objects) if (obj.owner === owner) this.free(id);
  }

  /** Calls are running with these objects as inputs: keep them in memory until unpinned. */
  pin(ids: readonly string[]): void {
    for (const id of ids) {
      const e = this.objects.get(id);
      if (e !== undefined) e.pins++;
    }
  }

  unpin(ids: readonly string[]): void {
    let any = false;
    for (const id of ids) {
      const e = this.objects.get(id);
      if (e === undefined || e.pins === 0) continue;
      if (--e.pins === 0) any = true;
    }
    if (!any) return;
    if (this.waiters.length > 0) this.pump();
    // A waiter let in over the budget while only pinned objects were left (pump) leaves the
    // store over it: now that they can go, spill back under it (a 0-byte waiter; a failed
    // spill is reported to the puts that wait, not here).
    else if (this.used > this.limit) void this.reserve(0)?.catch(() => undefined);
  }

  /**
   * The object, fetching it with `fetch` if missing. Concurrent callers for one id share
   * one transfer: an object crosses to a runner at most once however many calls want it.
   */
  obtain(id: string, owner: object, fetch: () => Promise<Uint8Array[]>): StoredObject | Promise<StoredObject> {
    const have = this.read(id);
    if (have !== undefined) return have;
    let p = this.fetching.get(id);
    if (p === undefined) {
      this.fetches++;
      p = fetch().then((segments) => {
        // Its owner may have left while it was on its way (a slow fetch, a lost driver):
        // its calls were cancelled, and a copy kept now would never be freed.
        return this.departed.has(owner) ? { segments, bytes: segmentBytes(segments), owner } : this.put(id, segments, owner);
      }).then((obj) => {
        this.bytesFetched += obj.bytes;
        return obj;
      }).finally(() => this.fetching.delete(id));
      this.fetching.set(id, p);
    }
    return p;
  }

  /** A value fetched from another runner without being stored here (a channel value): counted all the same. */
  countFetch(segments: readonly Uint8Array[]): void {
    this.fetches++;
    this.bytesFetched += segmentBytes(segments);
  }

  /** The object's segments for a reader outside this runner (read back from disk if spilled), or ObjectLostError. */
  serve(id: string): Uint8Array[] | Promise<Uint8Array[]> {
    const obj = this.read(id);
    if (obj === undefined) throw new ObjectLostError(id, "not held by this runner (released, or never stored here)");
    this.served++;
    return obj instanceof Promise ? obj.then((o) => o.segments) : obj.segments;
  }

  /** The runner stops: waiting puts fail, and the spill directory goes. */
  close(): void {
    for (const w of this.waiters.splice(0)) w.reject(new ObjectStoreFullError(w.bytes, this.used, this.limit, "the runner is stopping"));
    this.spill?.removeAll();
  }

  private touch(e: Entry): void {
    this.resident.delete(e.id);
    this.resident.set(e.id, e);
  }

  private uncharge(bytes: number): void {
    this.used -= bytes;
    this.drop(bytes);
    if (this.waiters.length > 0) this.pump();
  }

  /** Memory the store let go of: the runtime is asked to take it back once it adds up to a batch. */
  private drop(bytes: number): void {
    this.dropped += bytes;
    if (this.dropped < this.batchBytes || this.reclaim === undefined) return;
    this.dropped = 0;
    this.reclaim();
  }

  /** Counts `bytes` in `used` now if they fit (undefined), or once spilling made room for them. */
  private reserve(bytes: number): Promise<void> | undefined {
    if (this.waiters.length === 0 && this.used + bytes <= this.limit) {
      this.used += bytes;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ bytes, resolve, reject });
      this.pump();
    });
  }

  /**
   * Lets waiters in, in order, while they fit; for the first that does not, drops objects
   * already on disk (oldest first) and writes a batch of the oldest others. One batch at a
   * time: the disk writes sequentially anyway, and the next batch is chosen knowing what
   * the first one freed.
   */
  private pump(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      if (this.used + w.bytes <= this.limit) {
        this.waiters.shift();
        this.used += w.bytes;
        w.resolve();
        continue;
      }
      if (this.writing) return; // the batch being written makes room when it lands
      const need = this.used + w.bytes - this.limit;
      const batch: Entry[] = [];
      let dropped = 0;
      let batched = 0;
      for (const e of this.resident.values()) {
        if (e.pins > 0 || e.spilling) continue;
        if (e.place !== undefined) {
          // On disk already (read back earlier): evicted without a write.
          this.evict(e);
          dropped += e.bytes;
          if (dropped >= need) break;
          continue;
        }
        if (dropped + batched >= need && batched >= this.batchBytes) break;
        batch.push(e);
        batched += e.bytes;
      }
      if (dropped >= need) continue;
      if (batch.length > 0 && this.spill !== undefined) return this.write(batch);
      // Nothing left to evict but objects that running calls hold: those are in memory
      // whatever the store does, and waiting for them could wait for ever (a call's
      // inputs together over the budget), so the waiter goes over the budget.
      this.waiters.shift();
      this.used += w.bytes;
      w.resolve();
    }
  }

  private write(batch: Entry[]): void {
    this.writing = true;
    for (const e of batch) e.spilling = true;
    this.spill!.write(batch.map((e) => e.segments!)).then(
      (places) => {
        this.spillBatches++;
        const file = places[0]!.file;
        batch.forEach((e, i) => {
          e.spilling = false;
          this.spills++;
          this.bytesSpilled += e.bytes;
          if (e.freed) return;
          e.place = places[i];
          file.live++;
          if (e.pins === 0) this.evict(e);
        });
        if (file.live === 0) this.spill!.drop(file);
      },
      (err: Error) => {
        for (const e of batch) e.spilling = false;
        // A full disk (or a missing, read-only directory): what waits for room is refused.
        const why = `spilling to ${this.spill!.dir} failed: ${err.message} (free disk space, or set --spill-dir)`;
        for (const w of this.waiters.splice(0)) w.reject(new ObjectStoreFullError(w.bytes, this.used, this.limit, why));
      },
    ).finally(() => {
      this.writing = false;
      this.pump();
    });
  }

  /** Drops an object's memory; its bytes stay on disk. */
  private evict(e: Entry): void {
    this.resident.delete(e.id);
    e.segments = undefined;
    this.onDisk++;
    this.bytesOnDisk += e.bytes;
    if (e.charged) {
      e.charged = false;
      this.used -= e.bytes; // no pump: the caller is pumping, or about to
      this.drop(e.bytes);
    }
  }

  private async restore(e: Entry): Promise<StoredObject> {
    try {
      await this.reserve(e.bytes);
      if (e.freed) {
        this.uncharge(e.bytes);
        throw new ObjectLostError(e.id, "released while it was read back from disk");
      }
      e.charged = true;
      let segments: Uint8Array[];
      try {
        segments = await this.spill!.read(e.place!, e.bytes >= SHARE_MIN);
      } catch (err) {
        throw new ObjectLostError(e.id, `its spilled bytes could not be read back: ${(err as Error).message}`);
      }
      this.restores++;
      this.bytesRestored += e.bytes;
      if (e.freed) return { segments, bytes: e.bytes, owner: e.owner }; // freed meanwhile: for this reader only
      e.segments = segments;
      this.onDisk--; // on disk still, but evicted again without a write
      this.bytesOnDisk -= e.bytes;
      this.resident.set(e.id, e);
      return { segments, bytes: e.bytes, owner: e.owner };
    } catch (err) {
      if (e.charged) {
        e.charged = false;
        this.uncharge(e.bytes);
      }
      throw err;
    } finally {
      e.restoring = undefined;
    }
  }

  private unplace(place: SpillPlace): void {
    if (--place.file.live === 0) this.spill!.drop(place.file);
  }
}

/** A copy of `s` in shared memory (or `s` itself if it is there already). */
export function toShared(s: Uint8Array): Uint8Array {
  if (s.buffer instanceof SharedArrayBuffer) return s;
  const out = new Uint8Array(new SharedArrayBuffer(s.byteLength));
  out.set(s);
  return out;
}

/** A segment as the store keeps it: compact, and in shared memory when big. */
function keep(s: Uint8Array): Uint8Array {
  if (s.buffer instanceof SharedArrayBuffer) return s;
  if (s.byteLength < SHARE_MIN) return s.slice(); // its own small buffer, not a view of a socket chunk
  return toShared(s);
}
