import type { Logger } from "pino";
import { ObjectLostError } from "../errors.ts";
import { decodeError } from "../protocol/codec.ts";
import { clientHandshake } from "../protocol/handshake.ts";
import { DEFAULT_HEARTBEAT, startHeartbeat } from "../protocol/heartbeat.ts";
import { frameOf, T } from "../protocol/messages.ts";
import { readHeader, reads } from "../protocol/read-header.ts";
import { pooledSharedFrame } from "../transport/native-pool.ts";
import { Connection, dial, parseAddress } from "../transport/connection.ts";
import type { Tls } from "../transport/secure.ts";
import { segmentBytes } from "../transport/frames.ts";
import { ownerOf } from "../protocol/activity.ts";
import type { ActivityFeed } from "./activity/feed.ts";

/** What another runner sends us on a connection we opened to fetch objects. */
export const PEER_READS = reads("from a peer runner", T.Object, T.Heartbeat, T.Lanes);

interface Waiter {
  objectId: string;
  resolve: (segments: Uint8Array[]) => void;
  reject: (err: Error) => void;
}

/**
 * This runner's connection to another runner, for fetching objects from it. It is an
 * ordinary authenticated client connection (the same token, and TLS with this runner's
 * own certificate when it has one): the other side serves it as it serves a driver's Fetch.
 */
class PeerLink {
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private stopHeartbeat: () => void = () => {};
  alive = true;

  private constructor(readonly address: string, private readonly conn: Connection, private readonly onClosed: (p: PeerLink) => void) {}

  static async open(address: string, token: string | undefined, tls: Tls | undefined, maxFrame: number, onClosed: (p: PeerLink) => void, onOpen?: (conn: Connection) => void): Promise<PeerLink> {
    const { host, port } = parseAddress(address);
    const conn = new Connection(await dial(host, port, { tls }), maxFrame);
    onOpen?.(conn);
    conn.sharedBigFrames = true; // objects arrive straight into shared memory
    conn.bigFrameBuffers = pooledSharedFrame; // pooled, once the addon is loaded (transport/native-pool.ts)
    const { backlog } = await clientHandshake(conn, token);
    const p = new PeerLink(address, conn, onClosed);
    conn.on("frame", (segs) => p.onFrame(segs));
    conn.on("close", (err) => p.fail(err?.message ?? "connection closed"));
    p.stopHeartbeat = startHeartbeat(conn, DEFAULT_HEARTBEAT, (ms) => p.fail(`no heartbeat for ${Math.round(ms)} ms`));
    for (const segs of backlog) p.onFrame(segs);
    return p;
  }

  fetch(objectId: string, take = false): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      if (!this.alive) return reject(new ObjectLostError(objectId, `holder ${this.address} unreachable`));
      const id = this.nextId++;
      this.waiters.set(id, { objectId, resolve, reject });
      this.conn.send(frameOf(take ? [T.Fetch, id, objectId, true] : [T.Fetch, id, objectId]));
    });
  }

  private onFrame(segs: Uint8Array[]): void {
    try {
      const h = readHeader(segs, PEER_READS);
      if (h[0] !== T.Object) return;
      const w = this.waiters.get(h[1]);
      if (w === undefined) return;
      this.waiters.delete(h[1]);
      if (h[2]) return w.resolve(segs.slice(1));
      w.reject(decodeError(segs.slice(1)));
    } catch (err) {
      this.conn.destroy(err as Error);
    }
  }

  private fail(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.stopHeartbeat();
    this.conn.destroy();
    for (const w of this.waiters.values()) w.reject(new ObjectLostError(w.objectId, `holder ${this.address} lost: ${reason}`));
    this.waiters.clear();
    this.onClosed(this);
  }

  close(): void {
    this.fail("runner stopping");
  }
}

/** Connections to other runners, opened on first use and kept while they live. */
export class Peers {
  private readonly links = new Map<string, Promise<PeerLink>>();
  /** Told of each connection opened to another runner (the runner's metrics count its bytes). */
  onConnection: ((conn: Connection) => void) | undefined;
  /** Where fetches are recorded as spans, while a driver watches with spans. */
  feed: ActivityFeed | undefined;

  constructor(private readonly token: string | undefined, private readonly tls: Tls | undefined, private readonly maxFrame: number, private readonly log: Logger) {}

  /** An object from another runner; `take`: that runner frees it once sent (a channel value). */
  fetch(address: string, objectId: string, take = false): Promise<Uint8Array[]> {
    const work = (): Promise<Uint8Array[]> => this.fetchFrom(address, objectId, take);
    return this.feed === undefined ? work() : this.feed.timed("fetch", objectId, ownerOf(objectId), address, work, segmentBytes);
  }

  private async fetchFrom(address: string, objectId: string, take: boolean): Promise<Uint8Array[]> {
    let link = this.links.get(address);
    if (link === undefined) {
      link = PeerLink.open(address, this.token, this.tls, this.maxFrame, (p) => {
        if (this.links.get(address) === link) this.links.delete(address);
        this.log.debug({ peer: p.address }, "peer runner connection closed");
      }, this.onConnection);
      this.links.set(address, link);
      link.catch(() => this.links.delete(address));
    }
    let p: PeerLink;
    try {
      p = await link;
    } catch (err) {
      throw new ObjectLostError(objectId, `holder ${address} unreachable: ${(err as Error).message}`);
    }
    return p.fetch(objectId, take);
  }

  close(): void {
    for (const l of this.links.values()) l.then((p) => p.close(), () => {});
    this.links.clear();
  }
}
