import type { Logger } from "pino";
import { CancelledError, ImportError, ProtocolError } from "../errors.ts";
import { startHeartbeat, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import { frameOf, headerOf, T, type RunnerStats } from "../protocol/messages.ts";
import type { Connection } from "../transport/connection.ts";
import type { CodeCache } from "./code-cache.ts";
import type { Executor, Job } from "./executor.ts";
import { errorOutcome, resultFrame } from "./result-frame.ts";
import type { CallOutcome } from "./task.ts";

export interface SessionHost {
  executor: Executor;
  cache: CodeCache;
  log: Logger;
  stats(): RunnerStats;
  /** Results bigger than this are replaced by an error: the driver would drop the connection. */
  maxFrame: number;
  /** Counts every finished call, for runner stats. */
  counted(ok: boolean): void;
}

/**
 * How long a runner waits for a silent driver. A driver's event loop may be busy with
 * its own work for many seconds (a 16 s single-process matmul, say), and a dead driver
 * process closes its socket anyway; so silence alone only ends a session after a minute
 * (TCP keepalive covers hosts that vanish). Heartbeats still go out every 250 ms.
 */
export const DEFAULT_RUNNER_HEARTBEAT: HeartbeatOptions = { intervalMs: 250, timeoutMs: 60_000 };

/** One driver's connection to this runner, after the handshake. */
export class Session {
  /** Call ids are the driver's; job ids are the executor's, unique across sessions. */
  private readonly jobOf = new Map<number, number>();
  private readonly callOf = new Map<number, number>();
  /** Jobs waiting for their module's code, not yet in the executor. */
  private readonly awaitingCode = new Set<number>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly codeWaiters = new Map<string, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  private readonly stopHeartbeat: () => void;
  /** Module refs this driver declared, and the hashes they stand for. */
  private readonly modules = new Map<number, string>();
  private get cache(): CodeCache {
    return this.host.cache;
  }
  closed = false;

  constructor(
    private readonly conn: Connection,
    private readonly host: SessionHost,
    backlog: Uint8Array[][],
    private readonly onClosed: (s: Session, error: Error | undefined) => void,
    heartbeat: HeartbeatOptions = DEFAULT_RUNNER_HEARTBEAT,
  ) {
    conn.on("frame", (segs, owned) => this.onFrame(segs, owned));
    conn.on("close", (err) => this.close(err));
    this.stopHeartbeat = startHeartbeat(conn, heartbeat, (ms) => {
      host.log.warn({ peer: conn.remoteAddress, silentMs: Math.round(ms) }, "driver silent, dropping session");
      conn.destroy();
    });
    for (const segs of backlog) this.onFrame(segs, false);
  }

  /** Tells the driver where this runner's threads take direct calls. */
  announceLanes(ports: number[]): void {
    if (!this.closed) this.conn.send(frameOf([T.Lanes, ports]));
  }

  private onFrame(segs: Uint8Array[], owned: boolean): void {
    try {
      const h = headerOf(segs);
      switch (h[0]) {
        case T.Module: return this.onModule(h[1], h[2]);
        case T.Call: return this.onCall(h[1], h[2], h[3], h[4], segs, owned);
        case T.Cancel: return this.cancel(h[1], "cancelled by the driver");
        case T.Code: return this.onCode(h[1], h[2], segs[1]);
        case T.StatsRequest: this.conn.send(frameOf([T.Stats, h[1], this.host.stats()])); return;
        case T.Heartbeat: return;
        default: throw new ProtocolError(`unexpected message type ${String(h[0])}`);
      }
    } catch (err) {
      this.host.log.warn({ peer: this.conn.remoteAddress, err: (err as Error).message }, "bad frame, closing connection");
      this.conn.destroy(err as Error);
    }
  }

  private onModule(ref: number, hash: string): void {
    if (typeof ref !== "number" || typeof hash !== "string") throw new ProtocolError("malformed module declaration");
    this.cache.pathOf(hash); // validates the hash
    this.modules.set(ref, hash);
  }

  private onCall(id: number, ref: number, exportName: string, solo: boolean, segs: Uint8Array[], ownedFrame: boolean): void {
    const hash = this.modules.get(ref);
    if (typeof id !== "number" || hash === undefined || typeof exportName !== "string" || segs.length < 2) {
      throw new ProtocolError(hash === undefined ? `call names undeclared module ${ref}` : "malformed call");
    }
    if (this.jobOf.has(id)) throw new ProtocolError(`duplicate call id ${id}`);
    const jobId = this.host.executor.nextId();
    this.jobOf.set(id, jobId);
    this.callOf.set(jobId, id);
    const segments = segs.slice(1);
    // A big frame was assembled in a buffer of its own: move it to the worker. Smaller
    // ones are views into socket chunks that the executor copies into its batch buffer.
    const done = (o: CallOutcome): void => this.reply(o);
    const fail = (err: Error): void => done(errorOutcome(jobId, err));
    const submit = (modulePath: string): void => {
      if (this.closed) return;
      const job: Job = { id: jobId, modulePath, exportName, segments, solo, owned: ownedFrame, done };
      this.host.executor.submit(job);
    };
    // Known code (the common case) goes straight to the executor, without a promise hop.
    if (this.cache.has(hash)) return submit(this.cache.pathOf(hash));
    this.awaitingCode.add(jobId);
    this.cache.resolve(hash, (h) => this.fetchCode(h)).then(
      (path) => {
        // Cancelled (and already answered) while the code was on its way?
        if (this.awaitingCode.delete(jobId)) submit(path);
      },
      (err: unknown) => {
        this.awaitingCode.delete(jobId);
        fail(err instanceof ImportError ? err : new ImportError(`code ${hash.slice(0, 12)} unavailable: ${(err as Error).message}`));
      },
    );
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
    if (this.jobOf.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private fetchCode(hash: string): Promise<Uint8Array> {
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

  /** Sends what is queued, then closes the connection with FIN. */
  async end(): Promise<void> {
    await this.conn.flushed();
    this.conn.end();
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    for (const w of this.codeWaiters.values()) w.reject(new ImportError("driver disconnected"));
    this.codeWaiters.clear();
    // Nobody will read these results: stop what can be stopped.
    this.awaitingCode.clear();
    for (const jobId of this.callOf.keys()) this.host.executor.cancel(jobId, "driver disconnected");
    this.callOf.clear();
    this.jobOf.clear();
    this.conn.destroy(err);
    this.onClosed(this, err);
  }
}
