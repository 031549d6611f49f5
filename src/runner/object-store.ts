import os from "node:os";
import { ObjectLostError, ObjectStoreFullError } from "../errors.ts";
import { segmentBytes } from "../transport/frames.ts";

/** Segments at least this big live in shared memory: every thread reads them in place. */
const SHARE_MIN = 64 * 1024;

export interface StoredObject {
  /** Encoded value: msgpack body, then attachments. */
  readonly segments: Uint8Array[];
  readonly bytes: number;
  /** The driver session that owns it: its release or departure frees the object. */
  readonly owner: object;
}

/** The default budget: 30% of the host's memory, as Ray's object store. */
export const defaultObjectMemory = (): number => Math.floor(os.totalmem() * 0.3);

/**
 * A runner's objects: values put by drivers, results kept by `f.ref()` calls, and
 * copies fetched from other runners. Big segments are kept in SharedArrayBuffers so a
 * call on any thread reads them without a copy, and one copy serves every call.
 *
 * Freeing only forgets: a call still running keeps its memory alive through its own
 * references, and the garbage collector returns it after.
 */
export class ObjectStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly fetching = new Map<string, Promise<StoredObject>>();
  /** Owners that left: an object fetched for one after it left is not kept (nobody would free it). */
  private readonly departed = new WeakSet<object>();
  used = 0;
  fetches = 0;
  bytesFetched = 0;
  served = 0;
  /** Objects refused for want of room (ObjectStoreFullError). */
  refused = 0;

  constructor(readonly limit: number = defaultObjectMemory()) {}

  get size(): number {
    return this.objects.size;
  }

  get(id: string): StoredObject | undefined {
    return this.objects.get(id);
  }

  /** Stores an encoded value, or throws ObjectStoreFullError. Re-storing an id replaces it. */
  put(id: string, segments: readonly Uint8Array[], owner: object): StoredObject {
    const bytes = segmentBytes(segments);
    const old = this.objects.get(id);
    const used = this.used - (old?.bytes ?? 0);
    if (used + bytes > this.limit) {
      this.refused++;
      throw new ObjectStoreFullError(bytes, used, this.limit);
    }
    const obj: StoredObject = { segments: segments.map(keep), bytes, owner };
    this.objects.set(id, obj);
    this.used = used + bytes;
    return obj;
  }

  free(id: string): void {
    const obj = this.objects.get(id);
    if (obj === undefined) return;
    this.objects.delete(id);
    this.used -= obj.bytes;
  }

  /** A driver left: its objects go with it. */
  freeOwnedBy(owner: object): void {
    this.departed.add(owner);
    for (const [id, obj] of this.objects) if (obj.owner === owner) this.free(id);
  }

  /**
   * The object, fetching it with `fetch` if missing. Concurrent callers for one id share
   * one transfer: an object crosses to a runner at most once however many calls want it.
   */
  obtain(id: string, owner: object, fetch: () => Promise<Uint8Array[]>): StoredObject | Promise<StoredObject> {
    const have = this.objects.get(id);
    if (have !== undefined) return have;
    let p = this.fetching.get(id);
    if (p === undefined) {
      this.fetches++;
      p = fetch().then((segments) => {
        // Its owner may have left while it was on its way (a slow fetch, a lost driver):
        // its calls were cancelled, and a copy kept now would never be freed.
        const obj = this.departed.has(owner) ? { segments, bytes: segmentBytes(segments), owner } : this.put(id, segments, owner);
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

  /** The object's segments for a reader outside this runner, or ObjectLostError. */
  serve(id: string): Uint8Array[] {
    const obj = this.objects.get(id);
    if (obj === undefined) throw new ObjectLostError(id, "not held by this runner (released, or never stored here)");
    this.served++;
    return obj.segments;
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
