import net from "node:net";
import { collectSoon } from "./gc-hint.ts";
import { threadId } from "node:worker_threads";
import { CancelledError, ChannelBrokenError, ProtocolError } from "../errors.ts";
import { isActorOp } from "../protocol/actor-wire.ts";
import { refuseEarly, serverHandshake } from "../protocol/handshake.ts";
import { decodeError } from "../protocol/codec.ts";
import { frameOf, T, type ChanRequest } from "../protocol/messages.ts";
import { readHeader, reads } from "../protocol/read-header.ts";
import { BATCH_SEGMENT_MAX, FrameBatch, readCalls, RESULT_INLINE, RESULT_NOT_STARTED, RESULT_OK } from "../protocol/call-batch.ts";
import { readGraphCalls } from "../protocol/graph-call-batch.ts";
import { laneForDriver, revokeCredits, type LaneChanPath } from "./chan-relay.ts";
import { driverJoined, driverLeft, startThreadChans, threadHost } from "./thread-chans.ts";
import { chanReplyFrame, chanValues } from "../channels/chan-frames.ts";
import type { ChanPeer } from "../channels/channel-home.ts";
import { Connection } from "../transport/connection.ts";
import type { Tls } from "../transport/secure.ts";
import { createServer } from "../transport/server.ts";
import { keptOutcome, laneInputs, readCall, type CallIntake } from "./call-intake.ts";
import { threadMetrics } from "./metrics/thread-metrics.ts";
import { encodeThrown, isThenable, loadCount, runOne } from "./call-runner.ts";
import { flushOutput, functionName, type OutputRoute } from "./call-output.ts";
import { LogFrames } from "./log-frames.ts";
import { bundlePath } from "./code-cache.ts";
import { goLane, goLanePort } from "./goroutines/go-request.ts";
import { toShared } from "./object-store.ts";
import { isHandedOff } from "../handoff.ts";
import { lanePool } from "./snapshot-pool.ts";
import { loadBlockPool, pooledFrame } from "../transport/native-pool.ts";
import { admitGoroutine, goroutineEnded } from "./goroutines/limit.ts";
import { errorOutcome, resultFrame, stoppingOutcome } from "./result-frame.ts";
import type { CallOutcome, CallTask } from "./task.ts";
import { LANE_COUNTER, postSpans, ThreadChannel, type LaneConfig } from "./thread-messages.ts";
import { bytesOf, callSpan } from "./activity/call-span.ts";
import { setThreadSpans, ThreadSpans } from "./activity/thread-spans.ts";
import { actorOwnerPath, ownerLeft, setActorLane } from "./actors/actor-host.ts";

// Runs on a worker thread: the thread's own server, so that a driver's call is read,
// run and answered by the thread that runs it. Plain calls of modules the runner already
// holds come this way; calls that may need cancelling or a code fetch go through the
// runner's main thread (session.ts), which can kill a thread and fetch code. A Call frame
// is read as on the main link (call-intake.ts); its solo flag, which steers the main
// thread's executor, does not apply here; its concurrent flag counts it as a goroutine.

/** What a thread's lane takes from a driver. */
export const LANE_READS = reads("on a lane", T.Module, T.Call, T.Calls, T.GraphCalls, T.Cancel, T.Owner, T.ChanReply, T.ChanRevoke, T.ChanOp, T.ChanCancel, T.ChanReturn, T.Heartbeat);

class LaneSession {
  /** Module refs the driver declared, and the bundle paths they stand for. */
  private readonly modules = new Map<number, string>();
  /** Calls started and not yet answered, by driver call id. */
  readonly pending = new Set<number>();
  /** Actor calls among them, which their caller may give up on (T.Cancel): their signals. */
  private readonly actorCalls = new Map<number, AbortController>();
  /** Those of them that are goroutines (counted in the runner's live goroutines). */
  private readonly goroutines = new Set<number>();
  private draining = false;
  /** The driver's object/channel id prefix, once it said (T.Owner). */
  private prefix: string | undefined;
  /** Where the lines of its calls go, if it asked for them (T.Owner). */
  private out: OutputRoute | undefined;
  private readonly chanWaiters = new Map<number, (r: Parameters<Parameters<LaneChanPath["op"]>[3]>[0]) => void>();
  private nextChanOp = 1;
  /** This thread's channel operations on this driver's channels go this way (chan-relay.ts). */
  private readonly chanPath: LaneChanPath = {
    op: (req, values, pointers, answer) => {
      const opId = this.nextChanOp++;
      this.chanWaiters.set(opId, answer);
      const header: [T.ChanOp, number, ChanRequest, number[], number[]?] = [T.ChanOp, opId, req, values.map((v) => v.length)];
      if (pointers.length > 0) header.push(pointers);
      this.conn.send([...frameOf(header), ...values.flat()]);
      return opId;
    },
    cancel: (opId) => {
      if (this.chanWaiters.delete(opId)) this.conn.send(frameOf([T.ChanCancel, opId]));
    },
    csend: (chan, value) => {
      this.conn.send([...frameOf([T.ChanOp, 0, { op: "csend", chan }, [value.length]]), ...value]);
    },
  };

  /** `go()` in calls of this driver's reaches it this way (go-request.ts). */
  private readonly goPath = (frame: Uint8Array[]): void => this.conn.send(frame);
  /** Checkpoints of this driver's actors here reach it this way (actors/actor-host.ts). */
  private readonly actorPath = (frame: Uint8Array[]): void => this.conn.send(frame);
  /**
   * This connection as the home of this thread's channels sees it: a driver, or a client
   * (another thread, a driver) using channels made here. Its operations are answered on it.
   */
  private readonly peer: ChanPeer;

  constructor(
    private readonly conn: Connection,
    private readonly cfg: LaneConfig,
    private readonly counters: Int32Array,
    backlog: Uint8Array[][],
    private readonly onIdle: () => void,
    private readonly onClosed: (s: LaneSession) => void,
    private readonly store: (objectId: string, segments: Uint8Array[]) => Promise<number>,
    private readonly spans: ThreadSpans,
  ) {
    this.peer = {
      address: `the peer at ${conn.remoteAddress}`,
      reply: (opId, o) => conn.send(chanReplyFrame(opId, o, "")),
      revoke: (chan) => conn.send(frameOf([T.ChanRevoke, chan])),
      take: () => Promise.reject(new ProtocolError("values of channels made on runners travel inline")),
    };
    conn.on("frame", (segs, owned) => {
      if (owned && segs.length > 1 && segs[1]!.buffer.byteLength >= BIG_ARGUMENT) this.bigArguments = true;
      this.onFrame(segs);
    });
    conn.on("close", () => this.close());
    conn.beforeFlush = () => this.sendResults();
    for (const segs of backlog) this.onFrame(segs);
  }

  private onFrame(segs: Uint8Array[]): void {
    try {
      const h = readHeader(segs, LANE_READS);
      switch (h[0]) {
        case T.Module: {
          const [, ref, hash] = h;
          this.modules.set(ref, bundlePath(this.cfg.cacheDir, hash)); // validates the hash
          return;
        }
        case T.Call: return this.onCall(readCall(h, segs));
        case T.Calls: return readCalls(h, segs, (id, moduleRef, exportName, args, bodies, at) => this.onCall({
          id, moduleRef, exportName, solo: false, concurrent: false, args: [args], inline: undefined, stored: undefined, keep: undefined, argsIn: bodies, argsAt: at,
        }));
        case T.GraphCalls: return readGraphCalls(h, segs, (id, moduleRef, exportName, args, keep, inline) => this.onCall({
          id, moduleRef, exportName, solo: false, concurrent: false, args: [args], inline, stored: undefined, keep,
        }));
        case T.Cancel: {
          const ac = this.actorCalls.get(h[1]);
          this.actorCalls.delete(h[1]);
          ac?.abort(new CancelledError("its caller gave up on it (timeout or signal)"));
          return;
        }
        case T.Owner: {
          if (h[1] === "") throw new ProtocolError("malformed owner: an empty prefix"); // its type is checked with the header
          if (this.prefix === undefined) driverJoined(h[1]);
          this.prefix = h[1];
          laneForDriver(h[1], this.chanPath);
          goLane(h[1], this.goPath);
          actorOwnerPath(h[1], this.actorPath);
          if (h[2] === true) {
            const frames = new LogFrames(this.conn);
            this.out = { send: (batches) => { for (const b of batches) frames.send(b.key.id, functionName(b.key), b.stream, b.lines); } };
          }
          return;
        }
        case T.ChanReply: {
          const w = this.chanWaiters.get(h[1]);
          this.chanWaiters.delete(h[1]);
          w?.({
            ok: h[2] === true, index: h[3], done: h[4] === true, segments: segs.slice(1),
            pointer: Array.isArray(h[5]) ? h[5] : undefined, credits: typeof h[6] === "number" ? h[6] : undefined,
          });
          return;
        }
        case T.ChanRevoke: {
          // After every credited send already written on this connection: the home counts right.
          this.conn.send(frameOf([T.ChanReturn, h[1], revokeCredits(h[1])]));
          return;
        }
        case T.ChanOp: {
          const home = threadHost();
          if (home === undefined) throw new ProtocolError("a channel operation before this thread homes channels");
          const [, opId, req, sizes, pointers] = h;
          return home.remote(this.peer, opId, req, chanValues(sizes, segs), pointers ?? []);
        }
        case T.ChanCancel: return threadHost()?.cancel(this.peer, h[1]);
        case T.ChanReturn: return threadHost()?.returned(this.peer, h[1], h[2]);
        case T.Heartbeat: return;
        default: throw new ProtocolError(`unexpected message type ${String(h[0])} on a lane`);
      }
    } catch (err) {
      this.conn.destroy(err as Error);
    }
  }

  private onCall(call: CallIntake): void {
    const { id, keep } = call;
    const modulePath = this.modules.get(call.moduleRef);
    if (modulePath === undefined || this.pending.has(id)) throw new ProtocolError("malformed call on a lane");
    const objects = laneInputs(call);
    if (this.draining) {
      this.reply(id, stoppingOutcome(id));
      return;
    }
    this.pending.add(id);
    Atomics.add(this.counters, LANE_COUNTER.inFlight, 1);
    if (call.concurrent) {
      const refused = admitGoroutine(this.counters, this.cfg.maxGoroutines);
      if (refused !== undefined) return this.finish(id, errorOutcome(id, refused));
      this.goroutines.add(id);
    }
    const loadsBefore = loadCount();
    let signal: AbortSignal | undefined;
    if (isActorOp(call.exportName)) {
      this.actorSession = true;
      const ac = new AbortController();
      this.actorCalls.set(id, ac);
      signal = ac.signal;
    }
    // The segments stay views of the received frame: nothing reuses that memory.
    // No spreads of optional fields and no closure for a kept result: every f.ref() call of
    // a graph comes this way (bench/dag.ts).
    const task: CallTask = { id, modulePath, exportName: call.exportName, segments: call.args, argsIn: call.argsIn, argsAt: call.argsAt, out: this.out, driver: this.prefix, slabResult: true };
    if (objects !== undefined) task.deps = objects;
    if (signal !== undefined) task.signal = signal;
    const r = runOne(task);
    if (isThenable(r)) void r.then((o) => this.done(id, o, loadsBefore, keep, call));
    else this.done(id, r, loadsBefore, keep, call);
  }

  private done(id: number, o: CallOutcome, loadsBefore: number, keep: string | undefined, call: CallIntake): void {
    if (this.spans.watching) {
      const span = callSpan(call.exportName, threadId, this.prefix ?? null, id, o, bytesOf(call.args));
      if (span !== undefined) this.spans.add(span);
    }
    const loaded = loadCount() - loadsBefore;
    if (loaded > 0) Atomics.add(this.counters, LANE_COUNTER.loads, loaded);
    const out = keep === undefined ? o : this.keep(keep, o);
    if (out instanceof Promise) void out.then((x) => this.finish(id, x));
    else this.finish(id, out);
  }

  /**
   * An `f.ref()` result (see keptOutcome): a big one goes into the runner's object store,
   * which the main thread owns, in shared memory.
   */
  private keep(objectId: string, o: CallOutcome): CallOutcome | Promise<CallOutcome> {
    return keptOutcome(objectId, o, (id, segments) => this.store(id, segments.map(toShared)));
  }

  private finish(id: number, o: CallOutcome): void {
    if (!this.pending.delete(id)) return; // already failed by a crash
    this.actorCalls.delete(id);
    if (this.goroutines.delete(id)) goroutineEnded(this.counters);
    Atomics.sub(this.counters, LANE_COUNTER.inFlight, 1);
    Atomics.add(this.counters, LANE_COUNTER.calls, 1);
    if (!o.ok) Atomics.add(this.counters, LANE_COUNTER.failures, 1);
    this.reply(id, o);
    if (this.pending.size > 0) return;
    if (this.draining) this.conn.end();
    this.onIdle();
  }

  /** Results of this turn not sent yet: sent as the connection flushes, in one frame (T.Results). */
  private readonly results = new FrameBatch(T.Results);
  /**
   * Whether this connection carried an actor's calls: their results keep frames of their own,
   * so that each follows its checkpoint (T.ActorState) as it always did, with nothing in between.
   */
  private actorSession = false;

  private sendResults(): void {
    if (this.results.size > 0) this.conn.send(this.results.take());
  }

  private reply(id: number, o: CallOutcome): void {
    this.collectAfterBig();
    // Most results have no attachments: nothing to copy, so no copies of the outcome either;
    // a small one joins this turn's batch.
    if (o.segments.length === 1) {
      const body = o.segments[0]!;
      if (!this.actorSession && body.byteLength <= BATCH_SEGMENT_MAX) {
        if (this.results.full(body.byteLength)) this.sendResults();
        this.results.result(id, (o.ok ? RESULT_OK : 0) | (o.inline === true ? RESULT_INLINE : 0) | (o.notStarted === true ? RESULT_NOT_STARTED : 0), o.execMicros, body);
        this.conn.flushSoon();
        return;
      }
      this.sendResults();
      return this.conn.send(resultFrame(id, o, this.cfg.maxFrame));
    }
    this.sendResults();
    // Attachments are views of memory the user's code may keep and change in its next
    // call, while the socket may still be sending them: send a copy (the body is ours),
    // into pooled memory given back once the socket has written it (snapshot-pool.ts).
    const [body, ...attachments] = o.segments;
    const copies = attachments.map((a) => (isHandedOff(a) ? a : lanePool.snapshot(a)));
    this.conn.send(resultFrame(id, { ...o, segments: [body!, ...copies] }, this.cfg.maxFrame));
    const pooled = copies.filter((c) => lanePool.pooled(c) && !attachments.includes(c));
    if (pooled.length > 0) void this.conn.flushed().then(() => pooled.forEach((c) => lanePool.release(c.buffer as ArrayBuffer)));
  }

  /** Whether a big argument arrived since the last collection hint (its frame: pooled memory). */
  private bigArguments = false;

  /**
   * After answering calls with big arguments, a collection hint: their frames' pooled blocks
   * (transport/native-pool.ts) go back when V8 collects them, and without the hint the next
   * 3-4 big calls took fresh blocks (a fault and a clear per page).
   */
  private collectAfterBig(): void {
    if (!this.bigArguments) return;
    this.bigArguments = false;
    setImmediate(collectSoon);
  }

  /** The thread is dying of `err`: answer every pending call with it, now. */
  failAll(err: unknown): void {
    flushOutput();
    const enc = encodeThrown(err);
    for (const id of [...this.pending]) this.finish(id, { id, ok: false, segments: [enc.body, ...enc.attachments], execMicros: 0 });
    this.conn.flushNow();
  }

  drain(): void {
    // New calls are turned away unrun from now on. The connection stays open, so those
    // answers reach the driver; it closes the connection once it has read the runner's
    // Draining and its calls here are answered (or the runner exits after its grace).
    this.draining = true;
  }

  private close(): void {
    threadHost()?.peerLost(this.peer, "its connection closed");
    if (this.prefix !== undefined) {
      laneForDriver(this.prefix, undefined);
      goLane(this.prefix, this.goPath, false);
      driverLeft(this.prefix);
      // Its actors here go with it (unless detached): its connection to an actor's thread is
      // the one it calls and hears checkpoints on, open for as long as the driver lives.
      if (actorOwnerPath(this.prefix, undefined, this.actorPath)) ownerLeft(this.prefix);
    }
    const broken = encodeThrown(new ChannelBrokenError("(any)", "the connection to its home driver closed"));
    for (const w of this.chanWaiters.values()) w({ ok: false, index: -1, done: false, segments: [broken.body, ...broken.attachments] });
    this.chanWaiters.clear();
    Atomics.sub(this.counters, LANE_COUNTER.inFlight, this.pending.size);
    this.pending.clear();
    goroutineEnded(this.counters, this.goroutines.size);
    this.goroutines.clear();
    this.onClosed(this);
  }
}

/** Argument frames at least this big make the lane ask for a collection once answered. */
const BIG_ARGUMENT = 32 << 20;

/** Starts this thread's lane server and announces its port on the runner's channel. */
export function startLane(cfg: LaneConfig, tls: Tls | undefined): void {
  const counters = new Int32Array(cfg.counters);
  const channel = ThreadChannel.worker(cfg.channel);
  const spans = new ThreadSpans(counters, (json, count, dropped, flush) => postSpans(cfg.channel, { kind: "spans", threadId, json, count, dropped, flush }));
  setThreadSpans(spans); // channel waits and collectives on this thread record there too
  const sessions = new Set<LaneSession>();
  let draining = false;
  const maybeDrained = (): void => {
    if (draining && [...sessions].every((s) => s.pending.size === 0)) channel.post({ kind: "lane-drained", threadId });
  };

  void loadBlockPool();
  const server = createServer(tls, {
    accept: (socket) => {
      const conn = new Connection(socket, cfg.maxFrame);
      // A call's big argument lands in pooled memory (transport/native-pool.ts): reused once
      // the call and whatever kept the argument let go, instead of fresh pages cleared by the
      // kernel on every call (41% of a runner's echo profile, docs/decisions.md).
      conn.bigFrameBuffers = pooledFrame;
      serverHandshake(conn, cfg.token, cfg.info).then(
        ({ backlog }) => {
          threadMetrics?.bytes.track(conn, "driver");
          const s = new LaneSession(conn, cfg, counters, backlog, maybeDrained, (x) => {
            sessions.delete(x);
            maybeDrained();
          }, store, spans);
          sessions.add(s);
          if (draining) s.drain();
        },
        () => {}, // refused: the handshake has closed the socket
      );
    },
    refuse: (socket, reason) => refuseEarly(new Connection(socket), reason),
  });
  server.maxConnections = cfg.maxConnections;
  server.listen(0, cfg.host, () => {
    const { port } = server.address() as net.AddressInfo;
    startThreadChans(cfg.advertiseHost ?? cfg.host, port, { token: cfg.token, tls, maxFrame: cfg.maxFrame });
    setActorLane(cfg.advertiseHost ?? cfg.host, port);
    channel.post({ kind: "lane-listening", threadId, port });
    goLanePort(port);
  });

  // Kept results bound for the main thread's store, by request number.
  const storing = new Map<number, { resolve: (bytes: number) => void; reject: (e: Error) => void }>();
  let nextRequest = 0;
  const store = (objectId: string, segments: Uint8Array[]): Promise<number> => new Promise((resolve, reject) => {
    const request = ++nextRequest;
    storing.set(request, { resolve, reject });
    channel.post({ kind: "store-object", threadId, request, objectId, segments });
  });

  channel.listen((m) => {
    if (m.kind === "flush-spans") return spans.flush(m.request);
    if (m.kind === "object-stored") {
      const w = m.threadId === threadId ? storing.get(m.request) : undefined;
      if (w === undefined) return;
      storing.delete(m.request);
      if (m.error === undefined) return w.resolve(m.bytes);
      return w.reject(decodeError(m.error));
    }
    if (m.kind !== "drain-lanes" || draining) return;
    draining = true;
    server.close();
    for (const s of sessions) s.drain();
    maybeDrained();
  });

  // User code that throws from a timer kills this thread (piscina then replaces it).
  // Before it goes, answer the lane calls it was running with the exception, then let
  // the exception take the thread down as it would have.
  const onCrash = (err: unknown): void => {
    process.off("uncaughtException", onCrash);
    for (const s of sessions) s.failAll(err);
    throw err;
  };
  process.on("uncaughtException", onCrash);
}
