import { ObjectLostError, SerializationError } from "../errors.ts";
import { encodeValue } from "../protocol/codec.ts";
import { frameOf, T } from "../protocol/messages.ts";
import { frameSize } from "../transport/frames.ts";
import type { ObjectStore, StoredObject } from "./object-store.ts";
import type { Peers } from "./peers.ts";
import { decodeValue } from "../protocol/codec.ts";
import { parseFileObjectId } from "../protocol/exec-wire.ts";
import type { FileCache } from "./exec/file-cache.ts";

/**
 * A runner's objects as others ask for them. Drivers put, fetch, free and pull them; peer
 * runners fetch them (a peer connects as a client and is served as a driver is, by its
 * session); a call's stored inputs are found here or fetched from their holder; and the
 * runner's worker threads keep values here and take channel values through it.
 *
 * Answers to a connection's requests come back as frames, for its session to send.
 * `owner` is the session that asked: its objects go when it does (ObjectStore.freeOwnedBy).
 */
export class ObjectService {
  constructor(
    private readonly store: ObjectStore,
    private readonly peers: Peers,
    /** Objects bigger than a frame cannot be served: the reader would drop the connection. */
    private readonly maxFrame: number,
    /** Driver sessions by the prefix of their object ids (see T.Owner). */
    private readonly owners: ReadonlyMap<string, object>,
    /** Files of commands by content (runner/exec/): ids `file:<sha256>` name them, not the store's objects. */
    private readonly files?: FileCache,
  ) {}

  /** Put: keeps the value, owned by `owner`. The answer (Done) says its size, or why not. */
  put(reqId: number, objectId: string, segments: Uint8Array[], owner: object): Uint8Array[] | Promise<Uint8Array[]> {
    try {
      const file = this.fileOf(objectId);
      if (file !== undefined) {
        // A driver's file for a command here: into the file cache (checked against its hash), owned by nobody.
        const bytes = decodeValue(segments[0]!, segments.slice(1));
        if (!(bytes instanceof Uint8Array)) throw new SerializationError("file", "must be bytes");
        return file.cache.write(file.hash, file.executable, bytes.slice()).then( // the frame's memory is not ours to keep
          () => frameOf([T.Done, reqId, true, bytes.byteLength]),
          (err: unknown) => frameOf([T.Done, reqId, false, 0], encodeValue(err, "error")),
        );
      }
      const kept = this.keep(objectId, segments, owner);
      if (typeof kept === "number") return frameOf([T.Done, reqId, true, kept]);
      // Over the budget: answered once spilling made room (the driver's put waits as long).
      return kept.then((bytes) => frameOf([T.Done, reqId, true, bytes]), (err: unknown) => frameOf([T.Done, reqId, false, 0], encodeValue(err, "error")));
    } catch (err) {
      return frameOf([T.Done, reqId, false, 0], encodeValue(err, "error"));
    }
  }

  /**
   * Fetch, from a driver (`get`) or a peer runner (a call's input, a channel value): the
   * answer (Object) holds the value, or why not. `take`: a channel value has one receiver,
   * so it is freed once served.
   */
  fetch(reqId: number, objectId: string, take: boolean): Uint8Array[] | Promise<Uint8Array[]> {
    let served: Uint8Array[] | Promise<Uint8Array[]>;
    try {
      const file = this.fileOf(objectId);
      if (file !== undefined) {
        return file.cache.read(file.hash, file.executable).then((bytes) => {
          this.store.served++;
          const enc = encodeValue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), "file");
          if (frameSize([enc.body, ...enc.attachments]) + 64 > this.maxFrame) throw new SerializationError("file", `is over the ${this.maxFrame}-byte frame limit`);
          return frameOf([T.Object, reqId, true], enc);
        }).catch((err: unknown) => frameOf([T.Object, reqId, false], encodeValue(err, "error")));
      }
      served = this.store.serve(objectId);
    } catch (err) {
      return frameOf([T.Object, reqId, false], encodeValue(err, "error"));
    }
    if (!(served instanceof Promise)) return this.objectFrame(reqId, objectId, served, take);
    // Spilled: read back from disk first.
    return served.then((segments) => this.objectFrame(reqId, objectId, segments, take), (err: unknown) => frameOf([T.Object, reqId, false], encodeValue(err, "error")));
  }

  private objectFrame(reqId: number, objectId: string, segments: Uint8Array[], take: boolean): Uint8Array[] {
    const size = frameSize(segments) + 64;
    if (size > this.maxFrame) {
      const err = new SerializationError("object", `is ${size} bytes encoded, over the ${this.maxFrame}-byte frame limit`);
      return frameOf([T.Object, reqId, false], encodeValue(err, "error"));
    }
    // Freeing only forgets the object: the frame still holds its segments.
    if (take) this.store.free(objectId);
    return frameOf([T.Object, reqId, true], { body: segments[0]!, attachments: segments.slice(1) });
  }

  /** A file id's hash and mode, with the cache that holds such files; undefined for other ids. Throws on a malformed file id. */
  private fileOf(objectId: string): { hash: string; executable: boolean; cache: FileCache } | undefined {
    const f = parseFileObjectId(objectId);
    if (f === undefined) return undefined;
    if (this.files === undefined) throw new ObjectLostError(objectId, "this runner keeps no files");
    return { ...f, cache: this.files };
  }

  /** Free: forgets those of the objects that `owner` owns. */
  free(objectIds: string[], owner: object): void {
    for (const id of objectIds) if (this.store.get(id)?.owner === owner) this.store.free(id);
  }

  /** Pull (a broadcast step): fetches the object from runner `from` and keeps it here. The answer is a Done. */
  pull(reqId: number, objectId: string, from: string, owner: object): Promise<Uint8Array[]> {
    return Promise.resolve(this.input(objectId, from, owner)).then(
      (obj) => frameOf([T.Done, reqId, true, obj.bytes]),
      (err: unknown) => frameOf([T.Done, reqId, false, 0], encodeValue(err, "error")),
    );
  }

  /**
   * A call's stored input: held here (`holder` null, as the driver expects), or fetched from
   * `holder` and kept here, owned by `owner`. Concurrent calls wanting one object share one
   * fetch, so an object crosses to a runner at most once.
   */
  input(objectId: string, holder: string | null, owner: object): StoredObject | Promise<StoredObject> {
    if (holder === null) return this.store.read(objectId) ?? Promise.reject(new ObjectLostError(objectId, "not held by the runner the driver expected"));
    return this.store.obtain(objectId, owner, () => this.peers.fetch(holder, objectId));
  }

  /** Calls run with these stored inputs: kept in memory (not spilled) until `unpin`. */
  pin(objectIds: readonly string[]): void {
    this.store.pin(objectIds);
  }

  unpin(objectIds: readonly string[]): void {
    this.store.unpin(objectIds);
  }

  /**
   * Keeps a value (a put, or a kept result of a call on the main link), owned by `owner`: its
   * size, a promise of it when room must be made first (spilling), or throws (store full).
   */
  keep(objectId: string, segments: readonly Uint8Array[], owner: object): number | Promise<number> {
    const obj = this.store.put(objectId, segments, owner);
    return obj instanceof Promise ? obj.then((o) => o.bytes) : obj.bytes;
  }

  /**
   * Keeps a value for a worker thread (a lane call's kept result, a big channel value),
   * owned by the driver whose id prefix `objectId` carries: its size, or throws.
   */
  keepForThread(objectId: string, segments: Uint8Array[]): number | Promise<number> {
    const owner = this.owners.get(objectId.slice(0, objectId.lastIndexOf(".")));
    if (owner === undefined) throw new ObjectLostError(objectId, "its driver is not connected to this runner");
    return this.keep(objectId, segments, owner);
  }

  /**
   * A big channel value for a worker thread, taken from where it waits (`pointer`:
   * [objectId, the runner holding it, or null: this one]); the holder frees it.
   */
  async takeChanValue([objectId, from]: [string, string | null]): Promise<Uint8Array[]> {
    if (from !== null) {
      const segments = await this.peers.fetch(from, objectId, true);
      this.store.countFetch(segments); // a runner-to-runner fetch like any other (runner stats)
      return segments;
    }
    const obj = this.store.read(objectId);
    if (obj === undefined) throw new ObjectLostError(objectId, "a channel value this runner should hold is gone");
    const { segments } = await obj;
    this.store.free(objectId);
    return segments;
  }

  /** `owner` left: its objects go with it. */
  ownerGone(owner: object): void {
    this.store.freeOwnedBy(owner);
  }
}
