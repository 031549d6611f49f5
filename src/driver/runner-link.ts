import type { Logger } from "pino";
import { ProtocolError, RemoteError, RunnerLostError, StrandError } from "../errors.ts";
import { decodeError, decodeSegments, decodeValue, type Encoded } from "../protocol/codec.ts";
import { clientHandshake } from "../protocol/handshake.ts";
import { startHeartbeat, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import type { Chan } from "../protocol/chan.ts";
import { frameOf, headerOf, payloadOf, T, type ChanRequest, type Dep, type Header, type RunnerInfo, type RunnerStats } from "../protocol/messages.ts";
import type { ChanPeer, Outcome } from "./channel-home.ts";
import { chanReplyFrame, chanValues } from "./chan-frames.ts";
import { Connection, dial, parseAddress } from "../transport/connection.ts";
import type { PendingCall } from "./call.ts";
import type { Kept } from "./object-table.ts";
import { Lane, laneLost, type LaneOwner } from "./lane.ts";

export interface LinkHost {
  /** Channel operations this runner relays for its threads, and their withdrawal. */
  chanOp(peer: ChanPeer, opId: number, req: ChanRequest, values: Uint8Array[][], pointers: readonly number[]): void;
  chanCancel(peer: ChanPeer, opId: number): void;
  chanReturned(peer: ChanPeer, chan: string, n: number): void;
  /** A peer (a thread's lane) is gone: its operations are withdrawn, channels it used break. */
  chanPeerLost(peer: ChanPeer, reason: string): void;
  /** Channels sent to this runner inside a call's arguments. */
  gaveChannels(link: RunnerLink, chans: readonly Chan<unknown>[]): void;
  /** The prefix of this driver's object ids, declared to each runner (T.Owner). */
  ownerPrefix: string;
  /** Bundle bytes by hash, for a runner that asks. */
  codeFor(hash: string): Uint8Array | undefined;
  /** A call finished on this link: the scheduler may send it another. */
  slotFreed(link: RunnerLink): void;
  /** The link died; its in-flight calls were already rejected. */
  lost(link: RunnerLink, error: RunnerLostError): void;
  log: Logger;
}

// How much queued work to keep on a runner: enough calls that its threads never wait
// for a round trip, few enough that slow calls are not stuck behind each other.
const TARGET_QUEUE_MICROS = 2000;
const MIN_PER_THREAD = 2;
const MAX_PER_THREAD = 1024;

/** The driver's live connection to one runner: calls in flight, heartbeats, code requests. */
export class RunnerLink implements LaneOwner {
  private readonly inflight = new Map<number, PendingCall>();
  /** Requests other than calls (stats, put, fetch, pull), by id: each gets one answer. */
  private readonly requests = new Map<number, { resolve: (h: Header, segs: Uint8Array[]) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private readonly declared = new Set<number>();
  /** Modules the runner has run a call of: its code is cached there, so lanes can take them. */
  private readonly warm = new Set<number>();
  private readonly lanes = new Map<number, Lane>(); // port -> lane
  private readonly dialing = new Set<number>();
  private ewmaExecMicros = 1000;
  private stopHeartbeat: () => void = () => {};
  alive = true;
  codeBytesSent = 0;
  /** Bytes of this driver's live `put` objects stored on this runner (placement of the next put). */
  putBytes = 0;
  window: number;

  private constructor(
    readonly address: string,
    readonly info: RunnerInfo,
    private readonly conn: Connection,
    private readonly host: LinkHost,
    /** For the lanes' handshakes. */
    private readonly token: string | undefined,
  ) {
    this.window = info.threads * MIN_PER_THREAD;
  }

  static async open(address: string, token: string | undefined, host: LinkHost, heartbeat: HeartbeatOptions): Promise<RunnerLink> {
    const { host: h, port } = parseAddress(address);
    const socket = await dial(h, port).catch((err: Error) => {
      throw new RunnerLostError(address, `cannot connect: ${err.message}`);
    });
    const conn = new Connection(socket);
    const { info, backlog } = await clientHandshake(conn, token);
    const link = new RunnerLink(address, info, conn, host, token);
    conn.send(frameOf([T.Owner, host.ownerPrefix]));
    conn.on("frame", (segs) => link.onFrame(segs));
    conn.on("close", (err) => link.fail(err?.message ?? "connection closed"));
    link.stopHeartbeat = startHeartbeat(conn, heartbeat, (ms) => link.fail(`no heartbeat for ${Math.round(ms)} ms`));
    for (const segs of backlog) link.onFrame(segs);
    return link;
  }

  /** Bytes written to and read from this runner, main connection and lanes together. */
  get traffic(): { sent: number; received: number } {
    let sent = this.conn.bytesOut;
    let received = this.conn.bytesIn;
    for (const l of this.lanes.values()) {
      sent += l.bytesOut;
      received += l.bytesIn;
    }
    return { sent, received };
  }

  get lanePorts(): number[] {
    return [...this.lanes.values()].filter((l) => l.alive).map((l) => l.port);
  }

  get threads(): number {
    return this.info.threads;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  get ownerPrefix(): string {
    return this.host.ownerPrefix;
  }

  /** Recent mean run time of a call here, in microseconds. */
  get execMicros(): number {
    return this.ewmaExecMicros;
  }

  get hasRoom(): boolean {
    return this.alive && this.inflight.size - this.parked < this.window;
  }

  /** Calls in flight that hold channels (goroutines): outside the window. */
  private parked = 0;

  send(call: PendingCall): void {
    const { ref } = call.module;
    if (call.args.chans !== undefined) this.host.gaveChannels(this, call.args.chans);
    const id = this.nextId++;
    call.id = id;
    call.link = this;
    this.inflight.set(id, call);
    if (call.concurrent) this.parked++;
    // A thread's own connection has no object store: it takes calls whose inputs all travel
    // with them (a kept result it cannot return inline goes to the store through the main thread).
    const lane = call.solo || call.laneRetried || !this.warm.has(ref) || !call.deps.every((d) => d.inline !== undefined)
      ? undefined : this.pickLane();
    if (lane !== undefined) lane.send(id, call, this.callFrame(id, call));
    else this.sendMain(id, call);
  }

  private sendMain(id: number, call: PendingCall): void {
    const { ref, hash } = call.module;
    if (!this.declared.has(ref)) {
      this.declared.add(ref);
      this.conn.send(frameOf([T.Module, ref, hash]));
    }
    this.conn.send(this.callFrame(id, call));
  }

  /** The Call frame: arguments, then the objects they refer to (where to find each, or inline). */
  private callFrame(id: number, call: PendingCall): Uint8Array[] {
    const { ref } = call.module;
    if (call.concurrent && !call.usesObjects) return frameOf([T.Call, id, ref, call.wireName, call.solo, null, null, true], call.args);
    if (!call.usesObjects) return frameOf([T.Call, id, ref, call.wireName, call.solo], call.args);
    const inline: Uint8Array[] = [];
    const deps: Dep[] = call.deps.map((d) => {
      if (d.inline !== undefined) {
        inline.push(...d.inline);
        return [d.id, null, d.inline.length];
      }
      d.contacted.add(this); // it will hold a copy: free it here too
      const fetchedFrom = (call.fetchedFrom ??= new Map());
      if (d.holdsOn(this)) {
        fetchedFrom.set(d.id, undefined);
        return [d.id, null];
      }
      // Spread fetches over the copies (after a broadcast, every runner has one).
      const holders = d.liveHolders();
      const from = holders.length === 0 ? undefined : holders[id % holders.length];
      fetchedFrom.set(d.id, from);
      return [d.id, from?.address ?? null];
    });
    const args = inline.length === 0 ? call.args : { body: call.args.body, attachments: [...call.args.attachments, ...inline] };
    return frameOf([T.Call, id, ref, call.wireName, call.solo, deps, call.keep?.id ?? null, call.concurrent], args);
  }

  /** Stores a value here under `objectId`; resolves with its size. */
  put(objectId: string, value: Encoded): Promise<number> {
    return this.request((id) => frameOf([T.Put, id, objectId], value), doneBytes);
  }

  /** Has this runner fetch an object from another runner and keep it. */
  pull(objectId: string, from: string): Promise<number> {
    return this.request((id) => frameOf([T.Pull, id, objectId, from]), doneBytes);
  }

  /** The decoded value of an object held here. */
  async fetch(objectId: string): Promise<unknown> {
    return decodeSegments(await this.fetchSegments(objectId, false));
  }

  /** An object's encoded segments; `take`: the runner frees it once sent (a channel value). */
  private fetchSegments(objectId: string, take: boolean): Promise<Uint8Array[]> {
    return this.request((id) => frameOf(take ? [T.Fetch, id, objectId, true] : [T.Fetch, id, objectId]), (h, segs) => {
      if (h[0] !== T.Object) throw new ProtocolError("fetch answered with the wrong message");
      if (h[2]) return segs.slice(1);
      throw decodeError(segs.slice(1));
    });
  }

  /** Answers a channel operation this runner relayed. */
  reply(opId: number, o: Outcome): void {
    if (this.alive) this.conn.send(chanReplyFrame(opId, o, this.address));
  }

  /** A thread's channel operation that came over its lane (the same as a relayed one, answered there). */
  laneChanOp(lane: Lane, opId: number, req: ChanRequest, values: Uint8Array[][], pointers: readonly number[]): void {
    if (this.alive) this.host.chanOp(lane.chanPeer(this), opId, req, values, pointers);
  }

  laneChanCancel(lane: Lane, opId: number): void {
    this.host.chanCancel(lane.chanPeer(this), opId);
  }

  laneChanReturn(lane: Lane, chan: string, n: number): void {
    if (typeof chan !== "string" || typeof n !== "number") throw new ProtocolError("malformed credit return");
    this.host.chanReturned(lane.chanPeer(this), chan, n);
  }

  /** A big channel value kept by this runner: its encoded segments, freed there once sent. */
  take(objectId: string): Promise<Uint8Array[]> {
    return this.fetchSegments(objectId, true);
  }

  free(objectIds: string[]): void {
    if (this.alive) this.conn.send(frameOf([T.Free, objectIds]));
  }

  private request<R>(frame: (id: number) => Uint8Array[], read: (h: Header, segs: Uint8Array[]) => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (!this.alive) return reject(new RunnerLostError(this.address, "link closed"));
      const id = this.nextId++;
      this.requests.set(id, {
        resolve: (h, segs) => {
          try {
            resolve(read(h, segs));
          } catch (err) {
            reject(err as Error);
          }
        },
        reject,
      });
      this.conn.send(frame(id));
    });
  }

  /** The lane with the fewest calls on it, if any. */
  private pickLane(): Lane | undefined {
    let best: Lane | undefined;
    for (const l of this.lanes.values()) if (l.alive && (best === undefined || l.ids.size < best.ids.size)) best = l;
    return best;
  }

  /** The runner told us where its threads listen: connect to new ones, drop gone ones. */
  private onLanes(ports: number[]): void {
    if (!Array.isArray(ports)) throw new ProtocolError("malformed lanes message");
    const wanted = new Set(ports);
    for (const [port, lane] of this.lanes) if (!wanted.has(port)) lane.close();
    const { host } = parseAddress(this.address);
    for (const port of wanted) {
      if (this.lanes.has(port) || this.dialing.has(port) || typeof port !== "number") continue;
      this.dialing.add(port);
      Lane.open(host, port, this.token, this).then(
        (lane) => {
          this.dialing.delete(port);
          if (this.alive) this.lanes.set(port, lane);
          else lane.close();
        },
        (err: Error) => {
          this.dialing.delete(port);
          this.host.log.debug({ runner: this.address, port, err: err.message }, "lane not available");
        },
      );
    }
  }

  laneResult(lane: Lane, id: number, ok: boolean, execMicros: number, segs: Uint8Array[], inline: boolean): void {
    if (!this.alive) return;
    lane.ids.delete(id);
    this.onResult(id, ok, execMicros, segs, inline);
  }

  /**
   * A thread's connection closed: the runner killed the thread (to stop a cancelled call
   * running there) or the thread died. Calls still on it are a system failure, not an
   * application error: each is sent once more, through the runner's main connection.
   */
  laneClosed(lane: Lane, reason: string): void {
    if (this.lanes.get(lane.port) === lane) this.lanes.delete(lane.port);
    if (lane.hasChanPeer) this.host.chanPeerLost(lane.chanPeer(this), `a thread of runner ${this.address}: ${reason}`);
    const ids = [...lane.ids];
    lane.ids.clear();
    for (const id of ids) {
      const call = this.inflight.get(id);
      if (call === undefined) continue;
      if (call.settled || !this.alive || call.laneRetried) {
        this.inflight.delete(id);
        if (call.concurrent) this.parked--;
        call.reject(laneLost(this.address, lane.port, reason));
        continue;
      }
      call.laneRetried = true;
      this.sendMain(id, call);
    }
    if (ids.length > 0) this.host.slotFreed(this);
  }

  /** Asks the runner to stop a call; its Result still arrives and frees the slot. */
  cancel(call: PendingCall): void {
    if (this.inflight.get(call.id) === call) this.conn.send(frameOf([T.Cancel, call.id]));
  }

  stats(): Promise<RunnerStats> {
    return this.request((id) => frameOf([T.StatsRequest, id]), (h) => (h as [T.Stats, number, RunnerStats])[2]);
  }

  private onFrame(segs: Uint8Array[]): void {
    if (!this.alive) return; // closing: what still arrives answers calls already failed
    try {
      const h = headerOf(segs);
      switch (h[0]) {
        case T.Result: return this.onResult(h[1], h[2], h[3], segs, h[4] === true);
        case T.CodeRequest: {
          const code = this.host.codeFor(h[1]);
          if (code !== undefined) this.codeBytesSent += code.byteLength;
          this.conn.send(frameOf([T.Code, h[1], code !== undefined], code ?? new Uint8Array(0)));
          return;
        }
        case T.Stats: case T.Done: case T.Object: {
          const w = this.requests.get(h[1]);
          this.requests.delete(h[1]);
          w?.resolve(h, segs);
          return;
        }
        case T.Lanes: return this.onLanes(h[1]);
        case T.ChanOp: {
          const [, opId, req, sizes, pointers] = h;
          if (typeof opId !== "number") throw new ProtocolError("malformed channel operation");
          return this.host.chanOp(this, opId, req, chanValues(sizes, segs), Array.isArray(pointers) ? pointers : []);
        }
        case T.ChanCancel: return this.host.chanCancel(this, h[1]);
        case T.Heartbeat: return;
        default: throw new ProtocolError(`unexpected message type ${String(h[0])} from runner`);
      }
    } catch (err) {
      this.host.log.error({ runner: this.address, err: (err as Error).message }, "bad frame from runner");
      this.conn.destroy(err as Error);
    }
  }

  private onResult(id: number, ok: boolean, execMicros: number, segs: Uint8Array[], inline: boolean): void {
    const call = this.inflight.get(id);
    if (call === undefined) throw new ProtocolError(`result for unknown call ${id}`);
    this.inflight.delete(id);
    if (call.concurrent) this.parked--;
    this.observe(execMicros);
    this.warm.add(call.module.ref);
    // Inputs it had to fetch are now copies here too.
    if (ok) for (const d of call.deps) if (d.state === "ready" && call.fetchedFrom?.get(d.id) !== undefined) d.holders.add(this);
    if (!call.settled && ok && inline && call.keep !== undefined) {
      // The small value itself: keep our own copy of the bytes (they are views of socket memory).
      call.resolve({ inline: segs.slice(1).map((s) => s.slice()) } satisfies Kept);
    } else if (!call.settled) {
      let value: unknown;
      try {
        const { body, attachments } = payloadOf(segs);
        value = decodeValue(body, attachments);
      } catch (err) {
        const e = new ProtocolError(`undecodable result for ${call.exportName}: ${(err as Error).message}`);
        call.reject(e);
        throw e; // and drop the link: the stream cannot be trusted
      }
      if (!ok) call.reject(this.asError(value, call.label));
      else call.resolve(call.keep !== undefined ? ({ bytes: value as number } satisfies Kept) : value);
    }
    this.host.slotFreed(this);
  }

  private observe(execMicros: number): void {
    this.ewmaExecMicros = 0.9 * this.ewmaExecMicros + 0.1 * Math.max(1, execMicros);
    const perThread = Math.ceil(TARGET_QUEUE_MICROS / this.ewmaExecMicros);
    this.window = this.threads * Math.min(MAX_PER_THREAD, Math.max(MIN_PER_THREAD, perThread));
  }

  private asError(value: unknown, functionName: string): Error {
    if (value instanceof StrandError) {
      // ImportError, SerializationError (of the result), CancelledError...: say where.
      value.message += ` (${functionName} on runner ${this.address})`;
      return value;
    }
    const e = value instanceof Error ? value : new Error(String(value));
    const code = (e as Error & { code?: unknown }).code;
    return new RemoteError({
      message: e.message, remoteName: e.name, remoteStack: e.stack ?? "",
      remoteCode: code === undefined ? undefined : String(code),
      functionName, runner: this.address, cause: e.cause,
    });
  }

  /** Rejects everything in flight with RunnerLostError: never leaves a caller hanging. */
  fail(reason: string, graceful = false): void {
    if (!this.alive) return;
    this.alive = false;
    this.stopHeartbeat();
    // A deliberate close ends with FIN, so the runner sees a goodbye rather than a reset.
    if (graceful) this.conn.end();
    else this.conn.destroy();
    const error = new RunnerLostError(this.address, reason);
    const calls = [...this.inflight.values()];
    this.inflight.clear();
    this.parked = 0;
    for (const lane of this.lanes.values()) {
      lane.ids.clear();
      if (graceful) lane.close();
      else lane.destroy();
    }
    this.lanes.clear();
    for (const c of calls) c.reject(new RunnerLostError(this.address, reason));
    const requests = [...this.requests.values()];
    this.requests.clear();
    for (const r of requests) r.reject(new RunnerLostError(this.address, reason));
    this.host.lost(this, error);
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    await this.conn.flushed();
    this.fail("link closed by the driver", true);
  }
}

function doneBytes(h: Header, segs: Uint8Array[]): number {
  if (h[0] !== T.Done) throw new ProtocolError("request answered with the wrong message");
  if (h[2]) return h[3];
  throw decodeError(segs.slice(1));
}
