import type { Logger } from "pino";
import { AuthError, ProtocolError, RunnerLostError } from "../../errors.ts";
import { decodeValue, decodeValueIn, type Encoded } from "../../protocol/codec.ts";
import { clientHandshake, type ClockSample } from "../../protocol/handshake.ts";
import { startHeartbeat, type HeartbeatOptions } from "../../protocol/heartbeat.ts";
import type { Chan } from "../../protocol/chan.ts";
import { frameOf, payloadOf, T, type ChanRequest, type Message, type RunnerInfo, type RunnerStats } from "../../protocol/messages.ts";
import { BodySlab } from "../../protocol/body-slab.ts";
import { readResults, RESULT_INLINE, RESULT_NOT_STARTED, RESULT_OK } from "../../protocol/call-batch.ts";
import type { RunnerUsage } from "../../protocol/activity.ts";
import { readHeader, reads } from "../../protocol/read-header.ts";
import type { ChanPeer, Outcome } from "../../channels/channel-home.ts";
import { chanReplyFrame, chanValues } from "../../channels/chan-frames.ts";
import { Connection, dial, parseAddress } from "../../transport/connection.ts";
import { loadBlockPool, pooledFrame } from "../../transport/native-pool.ts";
import type { Tls } from "../../transport/secure.ts";
import type { PendingCall } from "../calls/call.ts";
import type { RunnerPort } from "../calls/runner-port.ts";
import { callFrame } from "./call-frame.ts";
import { CallWindow } from "../calls/call-window.ts";
import { laneLost, NO_ATTACHMENTS, resultPayload, type Lane, type LaneOwner } from "./lane.ts";
import { LinkLanes } from "./link-lanes.ts";
import { LinkRequests } from "./link-requests.ts";
import type { Kept } from "../objects/object-entry.ts";
import { resultError } from "../../protocol/result-error.ts";

/**
 * Where the small results of `f.ref()` calls are copied, side by side (body-slab.ts), rather
 * than each into an ArrayBuffer of its own: a graph holds every one of them for its life (GC
 * copies each), and reading a value from a slab makes no DataView of its own (codec's
 * decodeBody). Small slabs, and only small results: a result kept alive keeps its slab, so at
 * worst 4 KiB per 256 bytes or less kept.
 */
const keptSlab = new BodySlab(256, 4096);

/** What a runner sends on its main connection to a driver. */
export const LINK_READS = reads("from a runner", T.Result, T.CodeRequest, T.Stats, T.Done, T.Object, T.Lanes, T.ChanOp, T.ChanCancel, T.Heartbeat, T.Draining, T.Activity, T.Log, T.Go);

export interface LinkHost {
  /** Channel operations this runner relays for its threads, and their withdrawal. */
  chanOp(peer: ChanPeer, opId: number, req: ChanRequest, values: Uint8Array[][], pointers: readonly number[]): void;
  chanCancel(peer: ChanPeer, opId: number): void;
  chanReturned(peer: ChanPeer, chan: string, n: number): void;
  /** A peer (a thread's lane) is gone: its operations are withdrawn, channels it used break. */
  chanPeerLost(peer: ChanPeer, reason: string): void;
  /**
   * `go(f, ...args)` in a call running on this runner (T.Go, from its main connection or a
   * lane): export `exportName` of bundle `hash`, the arguments encoded as the runner sent them
   * (copies: free of the frame), `chans` the channels in them as [id, capacity].
   */
  go(link: RunnerLink, hash: string, exportName: string, chans: readonly (readonly [string, number])[], args: Encoded, lanePort?: number): void;
  /** Channels sent to this runner inside a call's arguments. */
  gaveChannels(link: RunnerLink, chans: readonly Chan<unknown>[]): void;
  /** The prefix of this driver's object ids, declared to each runner (T.Owner). */
  ownerPrefix: string;
  /** Lines this runner's calls printed (T.Log), on the main connection or a lane; unset: asks for none. */
  remoteLines?: ((link: RunnerLink, fn: string, stream: number, lines: string[]) => void) | undefined;
  /** Bundle bytes by hash, for a runner that asks. */
  codeFor(hash: string): Uint8Array | undefined;
  /** A call finished on this link: the scheduler may send it another. */
  slotFreed(link: RunnerLink): void;
  /**
   * The runner reported its activity (T.Activity): for watchers (observe/runner-watch.ts).
   * `chunks`: its `count` spans, as JSON (views of the received frame); `flushed` answers watch's `flush`.
   */
  activity(runner: string, at: number, stats: RunnerStats, usage: RunnerUsage, count: number, chunks: Uint8Array[], dropped: number, flushed: number | undefined): void;
  /** The link died; its in-flight calls were already rejected. */
  lost(link: RunnerLink, error: RunnerLostError): void;
  /** The connection to an actor thread closed (its thread died, or the link is going): its actors are gone. */
  actorLaneClosed?(link: RunnerLink, port: number, reason: string): void;
  /** An actor's checkpoint arrived (T.ActorState): its encoded state, copied off the frame. */
  actorState?(actorId: string, incarnation: number, state: Encoded): void;
  log: Logger;
}

/**
 * The driver's live connection to one runner: calls in flight (on the main connection or
 * its threads' lanes), heartbeats, code requests, and the channel operations it relays.
 */
export class RunnerLink implements RunnerPort, LaneOwner, ChanPeer {
  private readonly inflight = new Map<number, PendingCall>();
  private nextId = 1;
  private readonly requests: LinkRequests;
  private readonly lanes: LinkLanes;
  private readonly declared = new Set<number>();
  /** Modules the runner has run a call of: its code is cached there, so lanes can take them. */
  private readonly warm = new Set<number>();
  private readonly callWindow: CallWindow;
  /** Calls in flight that hold channels (goroutines): outside the window. */
  private parked = 0;
  private stopHeartbeat: () => void = () => {};
  alive = true;
  /** The runner said it is stopping (T.Draining): its calls finish, it gets no new ones. */
  draining = false;
  codeBytesSent = 0;
  /** Bytes of this driver's live `put` objects stored on this runner (placement of the next put). */
  putBytes = 0;

  private constructor(
    readonly address: string,
    readonly info: RunnerInfo,
    private readonly conn: Connection,
    private readonly host: LinkHost,
    token: string | undefined,
    tls: Tls | undefined,
    /**
     * The runner's clock against ours: measured at the handshake, refined by measureClock()
     * (traces line its spans up with ours by it).
     */
    public clock: ClockSample | undefined,
  ) {
    this.callWindow = new CallWindow(info.threads);
    this.lanes = new LinkLanes(this, token, tls, host.log);
    this.requests = new LinkRequests({
      address,
      alive: () => this.alive,
      nextId: () => this.nextId++,
      send: (frame) => this.conn.send(frame),
    });
  }

  static async open(address: string, token: string | undefined, tls: Tls | undefined, host: LinkHost, heartbeat: HeartbeatOptions): Promise<RunnerLink> {
    const { host: h, port } = parseAddress(address);
    const socket = await dial(h, port, { tls }).catch((err: Error) => {
      // A TLS failure is not a network one: trying again would not help.
      throw err instanceof AuthError ? err : new RunnerLostError(address, `cannot connect: ${err.message}`);
    });
    const conn = new Connection(socket);
    // Big values (get's objects, big results) land in pooled memory once the addon is built:
    // started now so that it is ready by the first big value (transport/native-pool.ts).
    void loadBlockPool();
    conn.bigFrameBuffers = pooledFrame;
    const { info, backlog, clock } = await clientHandshake(conn, token);
    if (info.role === "head") {
      conn.destroy();
      throw new ProtocolError(`${address} is a head, not a runner: connect({ head: "${address}" }) learns the runners from it`);
    }
    const link = new RunnerLink(address, info, conn, host, token, tls, clock);
    conn.send(frameOf([T.Owner, host.ownerPrefix, host.remoteLines !== undefined]));
    conn.on("frame", (segs) => link.onFrame(segs));
    conn.on("close", (err) => link.fail(err?.message ?? "connection closed"));
    link.stopHeartbeat = startHeartbeat(conn, heartbeat, (ms) => link.fail(`no heartbeat for ${Math.round(ms)} ms`));
    for (const segs of backlog) link.onFrame(segs);
    return link;
  }

  /** Bytes written to and read from this runner, main connection and lanes together. */
  get traffic(): { sent: number; received: number } {
    const lanes = this.lanes.traffic;
    return { sent: this.conn.bytesOut + lanes.sent, received: this.conn.bytesIn + lanes.received };
  }

  get lanePorts(): number[] {
    return this.lanes.ports;
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

  get wantsLogs(): boolean {
    return this.host.remoteLines !== undefined;
  }

  /** Lines a call printed, from the main connection or a lane (each in order, ahead of the call's result). */
  laneLog(fn: string, stream: number, lines: string[]): void {
    this.host.remoteLines?.(this, fn, stream, lines);
  }

  /** Recent mean run time of a call here, in microseconds. */
  get execMicros(): number {
    return this.callWindow.execMicros;
  }

  /** How many calls (goroutines aside) this runner may hold at once. */
  get window(): number {
    return this.callWindow.size;
  }

  get hasRoom(): boolean {
    return this.usable && this.inflight.size - this.parked < this.callWindow.size;
  }

  /** Connected and not stopping: may be given new work. */
  get usable(): boolean {
    return this.alive && !this.draining;
  }

  send(call: PendingCall): void {
    if (call.args.chans !== undefined) this.host.gaveChannels(this, call.args.chans);
    const id = this.nextId++;
    call.id = id;
    call.link = this;
    this.inflight.set(id, call);
    if (call.outsideWindow) this.parked++;
    // A call sent again after a loss takes the main connection, which heartbeats watch: a
    // lane may belong to a thread about to go the way of the one that lost it.
    const again = call.attempts++ > 0;
    // A goroutine its asking thread would run itself, whose lane is still being dialed (a
    // fresh cluster's first go()): the main connection would hand it to the least busy
    // thread, never the asking one. It waits the dial out (one handshake), still in flight
    // here, so a link lost meanwhile fails or retries it as any other.
    if (!again && call.preferLane !== undefined && this.lanes.whenDialed(call.preferLane, () => {
      if (this.inflight.get(id) === call) this.transmit(id, call); // unless failed or moved while waiting
    })) return;
    this.transmit(id, call);
  }

  /**
   * Sends an actor's call down the connection to its thread (dialed first if need be): the one
   * path all of one driver's calls to an actor take, so they arrive in the order sent.
   */
  sendToActor(call: PendingCall, port: number): void {
    if (call.args.chans !== undefined) this.host.gaveChannels(this, call.args.chans);
    const id = this.nextId++;
    call.id = id;
    call.link = this;
    this.inflight.set(id, call);
    this.parked++; // outsideWindow: an actor's calls wait in its mailbox, not for a thread
    call.attempts++;
    const open = this.alive ? this.lanes.openActorLane(port) : undefined;
    if (open !== undefined) {
      call.lanePort = port;
      call.markSent();
      open.send(id, call, this);
      return;
    }
    this.lanes.actorLane(port).then(
      (lane) => {
        if (this.inflight.get(id) !== call || !this.alive) return;
        // Its caller gave up while the connection was being made: it never leaves.
        if (call.settled) return this.dropActorCall(id, call, "");
        if (!lane.alive) return this.dropActorCall(id, call, `the connection to its thread (port ${port}) closed`);
        call.lanePort = port;
        call.markSent();
        lane.send(id, call, this);
      },
      (err: Error) => this.dropActorCall(id, call, `cannot reach its thread (port ${port}): ${err.message}`),
    );
  }

  private dropActorCall(id: number, call: PendingCall, reason: string): void {
    if (this.inflight.get(id) !== call) return;
    this.inflight.delete(id);
    this.parked--;
    call.reject(new RunnerLostError(this.address, reason));
    this.host.slotFreed(this);
  }

  laneActorState(actorId: string, incarnation: number, segs: Uint8Array[]): void {
    const { body, attachments } = payloadOf(segs);
    this.host.actorState?.(actorId, incarnation, { body: body.slice(), attachments: attachments.map((a) => a.slice()) });
  }

  private transmit(id: number, call: PendingCall): void {
    if (!this.alive) return;
    const { ref } = call.module;
    const again = call.attempts > 1;
    // A thread's own connection has no object store: it takes calls whose inputs all travel
    // with them (a kept result it cannot return inline goes to the store through the main thread).
    // A goroutine whose asking thread would run it has its module there (that thread runs it).
    const loaded = this.warm.has(ref) || (call.preferLane !== undefined && this.lanes.ports.includes(call.preferLane));
    const lane = call.solo || again || !loaded || !allInline(call.deps) ? undefined : this.lanes.pick(call.preferLane);
    call.lanePort = lane?.port;
    call.markSent();
    if (lane !== undefined) lane.send(id, call, this);
    else this.sendMain(id, call);
  }

  private sendMain(id: number, call: PendingCall): void {
    const { ref, hash } = call.module;
    if (!this.declared.has(ref)) {
      this.declared.add(ref);
      this.conn.send(frameOf([T.Module, ref, hash]));
    }
    this.conn.send(callFrame(id, call, this));
  }

  /** Stores a value here under `objectId`; resolves with its size. */
  put(objectId: string, value: Encoded): Promise<number> {
    return this.requests.put(objectId, value);
  }

  /** Has this runner fetch an object from another runner and keep it. */
  pull(objectId: string, from: string): Promise<number> {
    return this.requests.pull(objectId, from);
  }

  /** The decoded value of an object held here. */
  fetch(objectId: string): Promise<unknown> {
    return this.requests.fetch(objectId);
  }

  /** A big channel value kept by this runner: its encoded segments, freed there once sent. */
  take(objectId: string): Promise<Uint8Array[]> {
    return this.requests.take(objectId);
  }

  /** Asks the runner to report its activity every `intervalMs` (0: stop), with spans or not; `flush`: and everything it holds now. */
  watch(intervalMs: number, spans: boolean, flush?: number, merge = 0): void {
    if (!this.alive) return;
    if (merge > 0) this.conn.send(frameOf([T.Watch, intervalMs, spans, flush ?? null, merge]));
    else this.conn.send(frameOf(flush === undefined ? [T.Watch, intervalMs, spans] : [T.Watch, intervalMs, spans, flush]));
  }

  stats(): Promise<RunnerStats> {
    return this.requests.stats();
  }

  /**
   * Compares clocks with the runner over `rounds` round trips, one after another, and keeps
   * the sample with the shortest round trip (the handshake's included): the least uncertain, as NTP does.
   */
  async measureClock(rounds = 5): Promise<ClockSample | undefined> {
    for (let i = 0; i < rounds && this.alive; i++) {
      const s = await this.requests.clockSample().catch(() => undefined);
      if (s !== undefined && (this.clock === undefined || s.rttMicros < this.clock.rttMicros)) this.clock = s;
    }
    return this.clock;
  }

  free(objectIds: string[]): void {
    if (this.alive) this.conn.send(frameOf([T.Free, objectIds]));
  }

  /** Answers a channel operation this runner relayed. */
  reply(opId: number, o: Outcome): void {
    if (this.alive) this.conn.send(chanReplyFrame(opId, o, this.address));
  }

  /** A thread's channel operation that came over its lane (the same as a relayed one, answered there). */
  laneChanOp(lane: Lane, opId: number, req: ChanRequest, values: Uint8Array[][], pointers: readonly number[]): void {
    if (this.alive) this.host.chanOp(lane.chanPeer(this), opId, req, values, pointers);
  }

  /** A goroutine this runner's call asked for (main connection or a lane alike). */
  laneGo(hash: string, exportName: string, chans: readonly (readonly [string, number])[], segs: Uint8Array[], here?: number): void {
    if (!this.alive) return;
    const { body, attachments } = payloadOf(segs);
    // Views of socket memory: the call may wait for a runner, and go on to another.
    this.host.go(this, hash, exportName, chans, { body: body.slice(), attachments: attachments.map((a) => a.slice()) }, here);
  }

  laneChanCancel(lane: Lane, opId: number): void {
    this.host.chanCancel(lane.chanPeer(this), opId);
  }

  laneChanReturn(lane: Lane, chan: string, n: number): void {
    this.host.chanReturned(lane.chanPeer(this), chan, n);
  }

  laneResult(lane: Lane, id: number, ok: boolean, execMicros: number, body: Uint8Array, attachments: readonly Uint8Array[], inline: boolean, notStarted: boolean): void {
    if (!this.alive) return;
    lane.ids.delete(id);
    this.onResult(id, ok, execMicros, body, attachments, inline, notStarted);
  }

  laneResults(lane: Lane, h: Message<T.Results>, segs: readonly Uint8Array[]): void {
    if (!this.alive) return;
    // The scheduler hears once per frame that slots were freed, not once per result: it
    // re-keys this runner in its heaps and sends as many calls as came back, in one go.
    this.freeingSlots = true;
    try {
      readResults(h, segs, (id, flags, micros, bodies, start, end) => {
        if (!this.alive) return;
        lane.ids.delete(id);
        this.onResult(id, (flags & RESULT_OK) !== 0, micros, bodies, NO_ATTACHMENTS, (flags & RESULT_INLINE) !== 0, (flags & RESULT_NOT_STARTED) !== 0, start, end);
      });
    } finally {
      this.freeingSlots = false;
      if (this.alive) {
        this.host.slotFreed(this);
        this.leaveIfIdle();
      }
    }
  }

  /** Set while the results of one frame are read: slots freed are told to the scheduler once, after. */
  private freeingSlots = false;

  /** The runner is stopping: no new calls go there; those it turns away go elsewhere. */
  private drain(): void {
    if (!this.draining) {
      this.draining = true;
      this.host.log.info({ runner: this.address }, "runner is stopping: sending it no more calls");
    }
    this.leaveIfIdle();
  }

  /**
   * Closes the link to a stopping runner once nothing is in flight there: the runner waits
   * for that goodbye, so no call can cross its closing. It rejoins if it comes back.
   */
  private leaveIfIdle(): void {
    if (this.draining && this.alive && this.inflight.size === 0) this.fail("runner is stopping", true);
  }

  /**
   * A thread's connection closed: the runner killed the thread (to stop a cancelled call
   * running there) or the thread died. Calls still on it are a system failure, not an
   * application error: each fails with RunnerLostError, and the retry policy sends it again.
   */
  laneClosed(lane: Lane, reason: string): void {
    this.lanes.forget(lane);
    if (lane.actors && this.alive) this.host.actorLaneClosed?.(this, lane.port, reason);
    if (lane.hasChanPeer) this.host.chanPeerLost(lane.chanPeer(this), `a thread of runner ${this.address}: ${reason}`);
    const ids = [...lane.ids];
    lane.ids.clear();
    for (const id of ids) {
      const call = this.inflight.get(id);
      if (call === undefined) continue;
      this.inflight.delete(id);
      if (call.outsideWindow) this.parked--;
      call.reject(laneLost(this.address, lane.port, reason));
    }
    if (ids.length > 0) this.host.slotFreed(this);
    this.leaveIfIdle();
  }

  /** Asks the runner to stop a call; its Result still arrives and frees the slot. */
  cancel(call: PendingCall): void {
    if (this.inflight.get(call.id) !== call) return;
    // An actor's call is on its thread's connection, which the main thread does not see.
    if (call.actorId === undefined) this.conn.send(frameOf([T.Cancel, call.id]));
    // Not sent yet (its thread's connection is being made): it will not be.
    else if (call.lanePort !== undefined) this.lanes.cancelOnActorLane(call.lanePort, call.id);
  }

  private onFrame(segs: Uint8Array[]): void {
    if (!this.alive) return; // closing: what still arrives answers calls already failed
    try {
      const h = readHeader(segs, LINK_READS);
      switch (h[0]) {
        case T.Result: {
          const [body, attachments] = resultPayload(segs);
          return this.onResult(h[1], h[2], h[3], body, attachments, h[4] === true, h[5] === true);
        }
        case T.CodeRequest: {
          const code = this.host.codeFor(h[1]);
          if (code !== undefined) this.codeBytesSent += code.byteLength;
          this.conn.send(frameOf([T.Code, h[1], code !== undefined], code ?? new Uint8Array(0)));
          return;
        }
        case T.Stats: case T.Done: case T.Object: return this.requests.answer(h, segs);
        case T.Lanes: return this.lanes.update(h[1]);
        case T.ChanOp: {
          const [, opId, req, sizes, pointers] = h;
          return this.host.chanOp(this, opId, req, chanValues(sizes, segs), pointers ?? []);
        }
        case T.ChanCancel: return this.host.chanCancel(this, h[1]);
        case T.Heartbeat: return;
        case T.Draining: return this.drain();
        case T.Activity: return this.host.activity(this.address, h[1], h[2], h[3], h[4], segs.slice(1), h[5], h[6] ?? undefined);
        case T.Log: return this.laneLog(h[2], h[3], h[4]);
        case T.Go: return this.laneGo(h[1], h[2], h[3], segs, h[4] ?? undefined);
        default: throw new ProtocolError(`unexpected message type ${String(h[0])} from runner`);
      }
    } catch (err) {
      this.host.log.error({ runner: this.address, err: (err as Error).message }, "bad frame from runner");
      this.conn.destroy(err as Error);
    }
  }

  /** `start`, `end`: the result's body is bytes [start, end) of `body` (a batch's bodies, T.Results), not all of it. */
  private onResult(id: number, ok: boolean, execMicros: number, body: Uint8Array, attachments: readonly Uint8Array[], inline: boolean, notStarted = false, start?: number, end?: number): void {
    const call = this.inflight.get(id);
    if (call === undefined) throw new ProtocolError(`result for unknown call ${id}`);
    this.inflight.delete(id);
    if (call.outsideWindow) this.parked--;
    if (!ok && notStarted) {
      // Turned away unrun (it crossed our reading of T.Draining): a lost send, not an error.
      this.drain();
      call.notStarted = true;
      call.reject(new RunnerLostError(this.address, "runner is stopping; the call did not start"));
      this.host.slotFreed(this);
      this.leaveIfIdle();
      return;
    }
    call.execMicros = execMicros;
    this.callWindow.observe(execMicros);
    this.warm.add(call.module.ref);
    // Inputs it had to fetch are now copies here too.
    const fetchedFrom = call.fetchedFrom;
    if (ok && fetchedFrom !== undefined) for (const d of call.deps) if (d.state === "ready" && fetchedFrom.get(d.id) !== undefined) d.holders.add(this);
    if (!call.settled && ok && inline && call.keep !== undefined) {
      // The small value itself: keep our own copy of the bytes (they are views of socket memory).
      const inline = new Array<Uint8Array>(attachments.length + 1);
      inline[0] = start === undefined ? keptSlab.copy(body) : keptSlab.copyRange(body, start, end!);
      for (let i = 0; i < attachments.length; i++) inline[i + 1] = attachments[i]!.slice();
      call.resolve({ inline } satisfies Kept);
    } else if (!call.settled) {
      let value: unknown;
      try {
        value = start === undefined ? decodeValue(body, attachments) : decodeValueIn(body, start, end!);
      } catch (err) {
        const e = new ProtocolError(`undecodable result for ${call.exportName}: ${(err as Error).message}`);
        call.reject(e);
        throw e; // and drop the link: the stream cannot be trusted
      }
      if (!ok) call.reject(resultError(value, call.label, this.address));
      else call.resolve(call.keep !== undefined ? ({ bytes: value as number } satisfies Kept) : value);
    }
    if (this.freeingSlots) return;
    this.host.slotFreed(this);
    this.leaveIfIdle();
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
    this.lanes.closeAll(graceful);
    for (const c of calls) c.reject(new RunnerLostError(this.address, reason));
    this.requests.failAll(reason);
    this.host.lost(this, error);
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    await this.conn.flushed();
    this.fail("link closed by the driver", true);
  }
}

/** Whether every input travels with the call (no closure per call, as `every` made). */
function allInline(deps: readonly { readonly inline: unknown }[]): boolean {
  for (let i = 0; i < deps.length; i++) if (deps[i]!.inline === undefined) return false;
  return true;
}
