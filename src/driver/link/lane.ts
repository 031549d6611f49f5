import { ProtocolError, RunnerLostError } from "../../errors.ts";
import { clientHandshake } from "../../protocol/handshake.ts";
import { frameOf, T } from "../../protocol/messages.ts";
import { BATCH_SEGMENT_MAX, FrameBatch } from "../../protocol/call-batch.ts";
import { readHeader, reads } from "../../protocol/read-header.ts";
import { Connection, dial } from "../../transport/connection.ts";
import { pooledFrame } from "../../transport/native-pool.ts";
import type { Tls } from "../../transport/secure.ts";
import type { ChanRequest, Message } from "../../protocol/messages.ts";
import type { PendingCall } from "../calls/call.ts";
import type { ObjectHolder } from "../objects/object-holder.ts";
import { callFrame } from "./call-frame.ts";
import { GraphCallBatch } from "../../protocol/graph-call-batch.ts";
import type { ChanPeer } from "../../channels/channel-home.ts";
import { chanReplyFrame, chanValues } from "../../channels/chan-frames.ts";

/** What a runner thread sends on its lane. */
export const LANE_READS = reads("on a lane", T.Result, T.Results, T.ChanOp, T.ChanCancel, T.ChanReturn, T.Heartbeat, T.Log, T.Go, T.ActorState);

export interface LaneOwner {
  readonly address: string;
  /** This driver's id prefix, declared on each lane too (channel operations come back over it). */
  readonly ownerPrefix: string;
  /** Whether this driver asked for what calls print (T.Owner). */
  readonly wantsLogs: boolean;
  /** Lines a call on the lane printed (T.Log). */
  laneLog(fn: string, stream: number, lines: string[]): void;
  laneChanOp(lane: Lane, opId: number, req: ChanRequest, values: Uint8Array[][], pointers: readonly number[]): void;
  laneChanCancel(lane: Lane, opId: number): void;
  laneChanReturn(lane: Lane, chan: string, n: number): void;
  /** `go()` in a call on this runner's thread (T.Go): the frame's segments, payload and all. */
  laneGo(hash: string, exportName: string, chans: readonly (readonly [string, number])[], segs: Uint8Array[], here?: number): void;
  /** An actor on the lane's thread checkpointed (T.ActorState): `segs` holds the encoded state. */
  laneActorState(actorId: string, incarnation: number, segs: Uint8Array[]): void;
  /** A result arrived on the lane (a Result frame): its body and attachments are views of the frame. */
  laneResult(lane: Lane, id: number, ok: boolean, execMicros: number, body: Uint8Array, attachments: readonly Uint8Array[], inline: boolean, notStarted: boolean): void;
  /** Results arrived on the lane as one frame (T.Results, its header read): each body is read where it lies. */
  laneResults(lane: Lane, h: Message<T.Results>, segs: readonly Uint8Array[]): void;
  /** The lane closed; calls still on it must be failed. */
  laneClosed(lane: Lane, reason: string): void;
}

/**
 * A direct connection to one of a runner's worker threads: the thread reads, runs and
 * answers the calls itself, so a round trip wakes two threads instead of four. Only
 * calls that need no cancelling and no code fetch travel this way; the runner link's
 * main connection carries the rest, plus heartbeats, code and stats.
 */
export class Lane {
  /** Calls sent on this lane and not answered yet. */
  readonly ids = new Set<number>();
  private readonly declared = new Set<number>();
  alive = true;

  private constructor(readonly port: number, private readonly conn: Connection, readonly actors: boolean) {}

  /** `actors`: the connection to an actor thread (its actors' calls only). */
  static async open(host: string, port: number, token: string | undefined, tls: Tls | undefined, owner: LaneOwner, actors = false): Promise<Lane> {
    const conn = new Connection(await dial(host, port, { tls }));
    conn.bigFrameBuffers = pooledFrame; // big results in pooled memory (transport/native-pool.ts)
    const { backlog } = await clientHandshake(conn, token);
    const lane = new Lane(port, conn, actors);
    conn.send(frameOf([T.Owner, owner.ownerPrefix, owner.wantsLogs]));
    const onFrame = (segs: Uint8Array[]): void => {
      try {
        const h = readHeader(segs, LANE_READS);
        if (h[0] === T.Results) owner.laneResults(lane, h, segs);
        else if (h[0] === T.Result) {
          const [body, attachments] = resultPayload(segs);
          owner.laneResult(lane, h[1], h[2], h[3], body, attachments, h[4] === true, h[5] === true);
        } else if (h[0] === T.ChanOp) {
          const [, opId, req, sizes, pointers] = h;
          owner.laneChanOp(lane, opId, req, chanValues(sizes, segs), pointers ?? []);
        } else if (h[0] === T.ChanCancel) owner.laneChanCancel(lane, h[1]);
        else if (h[0] === T.ChanReturn) owner.laneChanReturn(lane, h[1], h[2]);
        else if (h[0] === T.Log) owner.laneLog(h[2], h[3], h[4]);
        else if (h[0] === T.Go) owner.laneGo(h[1], h[2], h[3], segs, h[4] ?? undefined);
        else if (h[0] === T.ActorState) owner.laneActorState(h[1], h[2], segs);
      } catch (err) {
        conn.destroy(err as Error);
      }
    };
    conn.on("frame", onFrame);
    if (!actors) conn.beforeFlush = () => lane.sendBatch();
    conn.on("close", (err) => {
      lane.alive = false;
      owner.laneClosed(lane, err?.message ?? "closed by the runner");
    });
    for (const segs of backlog) onFrame(segs);
    return lane;
  }

  /**
   * Sends a call as `id` of `link`, declaring its module first if need be. A small plain call
   * joins this turn's batch (T.Calls), sent as the connection flushes; anything else has a
   * frame of its own, after the batch so far (the runner reads them in the order sent).
   */
  send(id: number, call: PendingCall, link: ObjectHolder): void {
    const { ref, hash } = call.module;
    if (!this.declared.has(ref)) {
      this.declared.add(ref);
      this.sendFrame(frameOf([T.Module, ref, hash]));
    }
    this.ids.add(id);
    const { body, attachments } = call.args;
    if (!this.actors && attachments.length === 0 && body.byteLength <= BATCH_SEGMENT_MAX && !call.usesObjects && !call.concurrent) {
      const batch = this.batch;
      if (batch.full(body.byteLength)) this.sendBatch();
      batch.call(id, ref, call.wireName, body);
      this.conn.flushSoon();
      return;
    }
    if (!this.actors && attachments.length === 0 && body.byteLength <= BATCH_SEGMENT_MAX && !call.concurrent && call.inlined === undefined && this.graphCall(id, call)) return;
    this.sendFrame(callFrame(id, call, link)); // built right before it is sent: callFrame's header is a view (sentFrameOf)
  }

  /**
   * A graph call whose inputs all came back inline, each one segment, joins this turn's
   * batch of graph calls (T.GraphCalls): false if it cannot. Its inputs are only read, so
   * nothing is recorded about where they are (unlike callFrame's inputs held by runners).
   */
  private graphCall(id: number, call: PendingCall): boolean {
    const deps = call.deps;
    let bytes = call.args.body.byteLength;
    for (let i = 0; i < deps.length; i++) {
      const v = deps[i]!.inline;
      if (v === undefined || v.length !== 1) return false;
      bytes += v[0]!.byteLength;
    }
    const batch = this.graphBatch;
    if (batch.full(bytes)) {
      if (batch.size === 0) return false; // too big for any batch: a frame of its own
      this.sendBatch();
    }
    batch.call(id, call.module.ref, call.wireName, call.keep?.id, call.args.body, deps.length);
    for (let i = 0; i < deps.length; i++) batch.input(deps[i]!.id, deps[i]!.inline![0]!);
    this.conn.flushSoon();
    return true;
  }

  /** Calls of this turn not sent yet (plain lanes only). */
  private readonly batch = new FrameBatch(T.Calls);
  /** Graph calls of this turn not sent yet (plain lanes only). */
  private readonly graphBatch = new GraphCallBatch();

  /** Sends the calls batched so far, plain and graph, as a frame each. */
  private sendBatch(): void {
    if (this.batch.size > 0) this.conn.send(this.batch.take());
    if (this.graphBatch.size > 0) this.conn.send(this.graphBatch.take());
  }

  /** Sends a frame of its own, after the calls batched before it. */
  private sendFrame(frame: Uint8Array[]): void {
    this.sendBatch();
    this.conn.send(frame);
  }

  /** The caller gave up on call `id` (an actor's: it leaves the mailbox, or its signal aborts). */
  cancel(id: number): void {
    if (this.alive && this.ids.has(id)) this.sendFrame(frameOf([T.Cancel, id]));
  }

  private peer: ChanPeer | undefined;

  get hasChanPeer(): boolean {
    return this.peer !== undefined;
  }

  /** This lane as the channels see it: operations from its thread, answered on it. */
  chanPeer(link: { readonly address: string; take(objectId: string): Promise<Uint8Array[]> }): ChanPeer {
    this.peer ??= {
      address: link.address,
      reply: (opId, o) => this.sendFrame(chanReplyFrame(opId, o, link.address)),
      revoke: (chan) => this.sendFrame(frameOf([T.ChanRevoke, chan])),
      take: (objectId) => link.take(objectId),
    };
    return this.peer;
  }

  get bytesOut(): number {
    return this.conn.bytesOut;
  }

  get bytesIn(): number {
    return this.conn.bytesIn;
  }

  close(): void {
    this.alive = false;
    this.conn.end();
  }

  destroy(): void {
    this.alive = false;
    this.conn.destroy();
  }
}

export const NO_ATTACHMENTS: readonly Uint8Array[] = Object.freeze([]);

/** A Result frame's body and attachments (views of the frame). */
export function resultPayload(segs: readonly Uint8Array[]): [body: Uint8Array, attachments: readonly Uint8Array[]] {
  const body = segs[1];
  if (body === undefined) throw new ProtocolError("message has no payload");
  return [body, segs.length === 2 ? NO_ATTACHMENTS : segs.slice(2)];
}

export const laneLost = (address: string, port: number, reason: string): RunnerLostError =>
  new RunnerLostError(address, `direct connection to a thread (port ${port}) closed: ${reason}`);
