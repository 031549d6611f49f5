import { ProtocolError, RunnerLostError } from "../errors.ts";
import { clientHandshake } from "../protocol/handshake.ts";
import { frameOf, headerOf, T } from "../protocol/messages.ts";
import { Connection, dial } from "../transport/connection.ts";
import type { PendingCall } from "./call.ts";

export interface LaneOwner {
  readonly address: string;
  /** A Result arrived on the lane. */
  laneResult(lane: Lane, id: number, ok: boolean, execMicros: number, segs: Uint8Array[], inline: boolean): void;
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

  private constructor(readonly port: number, private readonly conn: Connection) {}

  static async open(host: string, port: number, token: string | undefined, owner: LaneOwner): Promise<Lane> {
    const conn = new Connection(await dial(host, port));
    const { backlog } = await clientHandshake(conn, token);
    const lane = new Lane(port, conn);
    const onFrame = (segs: Uint8Array[]): void => {
      try {
        const h = headerOf(segs);
        if (h[0] === T.Result) owner.laneResult(lane, h[1], h[2], h[3], segs, h[4] === true);
        else if (h[0] !== T.Heartbeat) throw new ProtocolError(`unexpected message type ${String(h[0])} on a lane`);
      } catch (err) {
        conn.destroy(err as Error);
      }
    };
    conn.on("frame", onFrame);
    conn.on("close", (err) => {
      lane.alive = false;
      owner.laneClosed(lane, err?.message ?? "closed by the runner");
    });
    for (const segs of backlog) onFrame(segs);
    return lane;
  }

  /** Sends a call's frame (built by the runner link), declaring its module first if need be. */
  send(id: number, call: PendingCall, frame: Uint8Array[]): void {
    const { ref, hash } = call.module;
    if (!this.declared.has(ref)) {
      this.declared.add(ref);
      this.conn.send(frameOf([T.Module, ref, hash]));
    }
    this.ids.add(id);
    this.conn.send(frame);
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

export const laneLost = (address: string, port: number, reason: string): RunnerLostError =>
  new RunnerLostError(address, `direct connection to a thread (port ${port}) closed: ${reason}`);
