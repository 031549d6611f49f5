import type { Logger } from "pino";
import { CancelledError, ChannelBrokenError, ImportError, ProtocolError } from "../errors.ts";
import { encodeSegments } from "../protocol/codec.ts";
import { startHeartbeat, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import { chanOf, frameOf, T, type ActorStat, type ChanRequest, type RunnerStats } from "../protocol/messages.ts";
import { readHeader, reads } from "../protocol/read-header.ts";
import type { Connection } from "../transport/connection.ts";
import { pooledSharedFrame } from "../transport/native-pool.ts";
import { gatherInputs, keptOutcome, readCall, type CallIntake } from "./call-intake.ts";
import type { CodeCache } from "./code-cache.ts";
import type { Executor, Job } from "./executor.ts";
import type { ObjectService } from "./object-service.ts";
import { LogFrames } from "./log-frames.ts";
import { errorOutcome, resultFrame, stoppingOutcome } from "./result-frame.ts";
import type { CallOutcome, ObjectDeps } from "./task.ts";
import { epochMicros, type RunnerUsage } from "../protocol/activity.ts";
import type { ActivityFeed, Watcher } from "./activity/feed.ts";
import { bytesOf, callSpan } from "./activity/call-span.ts";

export interface SessionHost {
  executor: Executor;
  cache: CodeCache;
  objects: ObjectService;
  /** Driver sessions by the prefix of their object ids (see T.Owner). */
  owners: Map<string, Session>;
  log: Logger;
  stats(): RunnerStats;
  /** The actors living here, as their threads report them. */
  actorStats(): Promise<ActorStat[]>;
  /** Results bigger than this are replaced by an error: the driver would drop the connection. */
  maxFrame: number;
  /** What this runner did, for the drivers that watch it. */
  feed: ActivityFeed;
  /** Counts every finished call, for runner stats. */
  counted(ok: boolean): void;
  /** The runner is stopping: new calls are turned away unrun. */
  stopping(): boolean;
}

/**
 * How long a runner waits for a silent driver. A driver's event loop may be busy with
 * its own work for many seconds (a 16 s single-process matmul, say), and a dead driver
 * process closes its socket anyway; so silence alone only ends a session after a minute
 * (TCP keepalive covers hosts that vanish). Heartbeats still go out every 250 ms.
 */
export const DEFAULT_RUNNER_HEARTBEAT: HeartbeatOptions = { intervalMs: 250, timeoutMs: 60_000 };

/** What a runner's main port takes, from drivers and from peer runners fetching objects. */
export const SESSION_READS = reads("from a driver", T.Module, T.Call, T.Put, T.Fetch, T.Free, T.Pull, T.ChanReply, T.Owner, T.Cancel, T.Code, T.StatsRequest, T.Watch, T.Heartbeat);

/** One driver's connection to this runner, after the handshake. */
export class Session implements Watcher {
  /** Call ids are the driver's; job ids are the executor's, unique across sessions. */
  private readonly jobOf = new Map<number, number>();
  private readonly callOf = new Map<number, number>();
  /** Jobs waiting for their module's code or their objects, not yet in the executor. */
  private readonly awaitingCode = new Set<number>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly codeWaiters = new Map<string, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  /** Channel operations sent to this driver (the channels' home) for our threads. */
  private readonly chanWaiters = new Map<number, ChanAnswer>();
  private nextChanOp = 1;
  private readonly stopHeartbeat: () => void;
  /** Module refs this driver declared, and the hashes they stand for. */
  private readonly modules = new Map<number, string>();
  private get cache(): CodeCache {
    return this.host.cache;
  }
  closed = false;
  /** It declared an Owner: a driver, not a peer runner fetching objects. */
  isDriver = false;
  /** The driver's object id prefix (T.Owner), which names it in spans. */
  private prefix: string | null = null;
  /** Where the lines its batched calls print go, if it asked for them (T.Owner). */
  private logs: LogFrames | undefined;
  private closedSignal!: () => void;
  /** Resolves once the connection is closed, by either side. */
  readonly gone = new Promise<void>((resolve) => (this.closedSignal = resolve));

  constructor(
    private readonly conn: Connection,
    private readonly host: SessionHost,
    backlog: Uint8Array[][],
    private readonly onClosed: (s: Session, error: Error | undefined) => void,
    heartbeat: HeartbeatOptions = DEFAULT_RUNNER_HEARTBEAT,
  ) {
    // Big frames (puts, big arguments) land in shared memory: stored and read by the
    // worker threads in place.
    conn.sharedBigFrames = true;
    // In pooled shared memory once the addon is loaded (transport/native-pool.ts).
    conn.bigFrameBuffers = pooledSharedFrame;
    conn.on("frame", (segs, owned) => this.onFrame(segs, owned));
    conn.on("close", (err) => this.close(err));
    this.stopHeartbeat = startHeartbeat(conn, heartbeat, (ms) => {
      host.log.warn({ peer: conn.remoteAddress, silentMs: Math.round(ms) }, "driver silent, dropping session");
      conn.destroy();
    });
    for (const segs of backlog) this.onFrame(segs, false);
  }

  sendActivity(at: number, stats: RunnerStats, usage: RunnerUsage, count: number, chunks: string[], dropped: number, flushed?: number): void {
    if (this.closed) return;
    const head = frameOf(flushed === undefined ? [T.Activity, at, stats, usage, count, dropped] : [T.Activity, at, stats, usage, count, dropped, flushed]);
    this.conn.send([...head, ...chunks.map((c) => Buffer.from(c, "utf8"))]);
  }

  /** Tells the driver where this runner's threads take direct calls. */
  announceLanes(ports: number[]): void {
    if (!this.closed) this.conn.send(frameOf([T.Lanes, ports]));
  }

  private onFrame(segs: Uint8Array[], owned: boolean): void {
    try {
      const h = readHeader(segs, SESSION_READS);
      switch (h[0]) {
        case T.Module: return this.onModule(h[1], h[2]);
        case T.Call: return this.onCall(readCall(h, segs), owned);
        case T.Put:
          if (segs.length < 2) throw new ProtocolError("malformed put: no value");
          this.answer(this.host.objects.put(h[1], h[2], segs.slice(1), this));
          return;
        case T.Fetch: this.answer(this.host.objects.fetch(h[1], h[2], h[3] === true)); return;
        case T.Free: return this.host.objects.free(h[1], this);
        case T.Pull: void this.host.objects.pull(h[1], h[2], h[3], this).then((answer) => this.conn.send(answer)); return;
        case T.ChanReply: {
          const w = this.chanWaiters.get(h[1]);
          this.chanWaiters.delete(h[1]);
          w?.(h[2] === true, h[3], h[4] === true, segs.slice(1), Array.isArray(h[5]) ? h[5] : undefined);
          return;
        }
        case T.Owner:
          if (h[1] === "") throw new ProtocolError("malformed owner: an empty prefix"); // its type is checked with the header
          this.host.owners.set(h[1], this);
          this.prefix = h[1];
          this.isDriver = true;
          if (h[2] === true) this.logs ??= new LogFrames(this.conn);
          return;
        case T.Cancel: return this.cancel(h[1], "cancelled by the driver");
        case T.Code: return this.onCode(h[1], h[2], segs[1]);
        case T.StatsRequest: {
          const stats = this.host.stats();
          const reqId = h[1];
          void this.host.actorStats().then((actors) => this.conn.send(frameOf([T.Stats, reqId, { ...stats, actors }, epochMicros()])));
          return;
        }
        case T.Watch: return this.host.feed.watch(this, h[1], h[2], h[3], h[4]);
        case T.Heartbeat: return;
        default: throw new ProtocolError(`unexpected message type ${String(h[0])}`);
      }
    } catch (err) {
      this.host.log.warn({ peer: this.conn.remoteAddress, err: (err as Error).message }, "bad frame, closing connection");
      this.conn.destroy(err as Error);
    }
  }

  /**
   * Forwards a thread's channel operation to this driver, the channel's home; `answer`
   * gets the reply (or a ChannelBrokenError, encoded, if the driver goes first).
   */
  chanOp(req: ChanRequest, values: Uint8Array[][], pointers: number[], answer: ChanAnswer): number {
    const opId = this.nextChanOp++;
    if (this.closed) {
      answer(false, -1, false, encodeSegments(new ChannelBrokenError(chanOf(req), "its home driver disconnected"), "error"));
      return opId;
    }
    this.chanWaiters.set(opId, answer);
    const header: [T.ChanOp, number, ChanRequest, number[], number[]?] = [T.ChanOp, opId, req, values.map((v) => v.length)];
    if (pointers.length > 0) header.push(pointers);
    this.conn.send([...frameOf(header), ...values.flat()]);
    return opId;
  }

  /** The answer to a Put or Fetch: a file's comes once it is read or written (runner/exec/file-cache.ts). */
  private answer(frame: Uint8Array[] | Promise<Uint8Array[]>): void {
    if (!(frame instanceof Promise)) return this.conn.send(frame);
    void frame.then((f) => {
      if (!this.closed) this.conn.send(f);
    });
  }

  /** A frame one of our threads has for this driver (a T.Go with no lane to take it). */
  relay(frame: Uint8Array[]): void {
    if (!this.closed) this.conn.send(frame);
  }

  chanCancel(opId: number): void {
    if (this.chanWaiters.delete(opId) && !this.closed) this.conn.send(frameOf([T.ChanCancel, opId]));
  }

  private onModule(ref: number, hash: string): void {
    this.cache.pathOf(hash); // validates the hash
    this.modules.set(ref, hash);
  }

  private onCall(call: CallIntake, ownedFrame: boolean): void {
    const { id, keep } = call;
    const hash = this.modules.get(call.moduleRef);
    if (hash === undefined) throw new ProtocolError(`call names undeclared module ${call.moduleRef}`);
    if (this.jobOf.has(id)) throw new ProtocolError(`duplicate call id ${id}`);
    if (this.host.stopping()) {
      // Sent before the driver read our Draining: it goes to another runner, unrun here.
      this.host.counted(false);
      this.conn.send(resultFrame(id, stoppingOutcome(id), this.host.maxFrame));
      return;
    }
    const jobId = this.host.executor.nextId();
    this.jobOf.set(id, jobId);
    this.callOf.set(jobId, id);
    const reply = keep === undefined ? (o: CallOutcome): void => this.reply(o) : (o: CallOutcome): void => {
      const kept = this.keepResult(keep, o);
      if (kept instanceof Promise) void kept.then((k) => this.reply(k)); // once spilling made room
      else this.reply(kept);
    };
    // The stored inputs of a running call stay in memory (they are in use: spilled, they would be read back as a second copy).
    let pinned: string[] | undefined;
    const done = (o: CallOutcome): void => {
      if (pinned !== undefined) this.host.objects.unpin(pinned);
      if (this.host.feed.recording) {
        const span = callSpan(call.exportName, o.thread ?? 0, this.prefix, id, o, bytesOf(call.args));
        if (span !== undefined) this.host.feed.add(span);
      }
      reply(o);
    };
    const fail = (err: Error): void => done(errorOutcome(jobId, err));
    const submit = (modulePath: string, objects: ObjectDeps | undefined): void => {
      if (this.closed) return;
      if (call.stored !== undefined) this.host.objects.pin((pinned = call.stored.map(([objectId]) => objectId)));
      // A big frame was assembled in a buffer of its own: move it to the worker. Smaller
      // ones are views into socket chunks that the executor copies into its batch buffer.
      const job: Job = {
        id: jobId, modulePath, exportName: call.exportName, segments: call.args, solo: call.solo, concurrent: call.concurrent, owned: ownedFrame, done,
        ...(objects ? { deps: objects } : {}), ...(call.solo ? { cancellable: true } : {}), ...(this.logs === undefined ? { quiet: true } : {}),
        ...(this.prefix !== null ? { driver: this.prefix } : {}),
      };
      this.host.executor.submit(job);
    };
    const code = this.cache.has(hash) ? this.cache.pathOf(hash) : undefined;
    const objects = gatherInputs(call, (objectId, holder) => this.host.objects.input(objectId, holder, this));
    // Known code and objects at hand (the common case) go straight to the executor.
    if (code !== undefined && !(objects instanceof Promise)) return submit(code, objects);
    this.awaitingCode.add(jobId);
    const codeReady = code ?? this.cache.resolve(hash, (h) => this.fetchCode(h)).catch((err: unknown) => {
      throw err instanceof ImportError ? err : new ImportError(`code ${hash.slice(0, 12)} unavailable: ${(err as Error).message}`);
    });
    Promise.all([codeReady, objects]).then(
      ([path, objs]) => {
        // Cancelled (and already answered) while the code or objects were on their way?
        if (this.awaitingCode.delete(jobId)) submit(path, objs);
      },
      (err: unknown) => {
        if (this.awaitingCode.delete(jobId)) fail(err as Error);
      },
    );
  }

  /** A `f.ref()` call's result: kept here, the driver hearing only its size, unless small (see keptOutcome). */
  private keepResult(objectId: string, o: CallOutcome): CallOutcome | Promise<CallOutcome> {
    // Nobody reads a closed session's answers, and its objects are freed already: keep nothing.
    if (this.closed) return o;
    return keptOutcome(objectId, o, (id, segments) => this.host.objects.keep(id, segments, this));
  }

  private cancel(id: number, reason: string): void {
    const jobId = this.jobOf.get(id);
    if (jobId === undefined) return;
    if (this.awaitingCode.delete(jobId)) this.reply(errorOutcome(jobId, new CancelledError(reason)));
    else this.host.executor.cancel(jobId, reason);
  }

  private reply(o: CallOutcome): void {
    const id = this.callOf.get(o.id);
    if (id === undefined) return; // session closed meanwhile

    this.callOf.delete(o.id);
    this.jobOf.delete(id);
    this.host.counted(o.ok);
    this.conn.send(resultFrame(id, o, this.host.maxFrame));
    // The result's pooled copies go back to their thread once written (snapshot-pool.ts).
    const { lent, thread } = o;
    if (lent !== undefined && thread !== undefined) void this.conn.flushed().then(() => this.host.executor.lanes?.returnBuffers(thread, lent));
    if (this.jobOf.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Lines a job printed, if it is one of this session's: sent to the driver ahead of its result. */
  output(jobId: number, fn: string, stream: number, lines: string[]): boolean {
    const id = this.callOf.get(jobId);
    if (id === undefined) return false;
    this.logs?.send(id, fn, stream, lines);
    return true;
  }

  private fetchCode(hash: string): Promise<Uint8Array> {
    return this.host.feed.timed("code", hash.slice(0, 12), this.prefix, null, () => this.requestCode(hash), (code) => code.byteLength);
  }

  private requestCode(hash: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ImportError("driver gone before its code arrived"));
      this.codeWaiters.set(hash, { resolve, reject });
      this.conn.send(frameOf([T.CodeRequest, hash]));
    });
  }

  private onCode(hash: string, found: boolean, code: Uint8Array | undefined): void {
    const w = this.codeWaiters.get(hash);
    if (w === undefined) return;
    this.codeWaiters.delete(hash);
    if (!found || code === undefined) w.reject(new ImportError(`driver has no code for ${hash.slice(0, 12)}`));
    else w.resolve(code.slice());
  }

  /**
   * Resolves when this driver's calls on this connection have finished — queued, running,
   * or still waiting for their code — or after `graceMs`. Their results still go out.
   */
  settled(graceMs: number): Promise<void> {
    if (this.jobOf.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Tells a driver (not a peer runner, which sends no calls) that this runner is stopping. */
  draining(): void {
    if (this.isDriver && !this.closed) this.conn.send(frameOf([T.Draining]));
  }

  /** Sends what is queued, then closes the connection with FIN. */
  async end(): Promise<void> {
    await this.conn.flushed();
    this.conn.end();
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    this.host.feed.unwatch(this);
    for (const w of this.codeWaiters.values()) w.reject(new ImportError("driver disconnected"));
    this.codeWaiters.clear();
    for (const w of this.chanWaiters.values()) w(false, -1, false, encodeSegments(new ChannelBrokenError("(any)", "its home driver disconnected"), "error"));
    this.chanWaiters.clear();
    // Nobody will read these results: stop what can be stopped.
    this.awaitingCode.clear();
    for (const jobId of this.callOf.keys()) this.host.executor.cancel(jobId, "driver disconnected");
    this.callOf.clear();
    this.jobOf.clear();
    // A stopping runner waits for this driver's calls (settled): nobody reads their results
    // now, and goroutines still running end as their channel operations break; waiting for
    // them would hold the runner for its whole grace period.
    for (const w of this.idleWaiters.splice(0)) w();
    this.host.objects.ownerGone(this);
    for (const [prefix, s] of this.host.owners) if (s === this) this.host.owners.delete(prefix);
    this.conn.destroy(err);
    this.closedSignal();
    this.onClosed(this, err);
  }
}

/** The answer to a relayed channel operation; `pointer`: where to take a big value from. */
export type ChanAnswer = (ok: boolean, index: number, done: boolean, segments: Uint8Array[], pointer?: [string, string | null]) => void;
