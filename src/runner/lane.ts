import net from "node:net";
import { BroadcastChannel, threadId } from "node:worker_threads";
import { ProtocolError } from "../errors.ts";
import { serverHandshake } from "../protocol/handshake.ts";
import { headerOf, T } from "../protocol/messages.ts";
import { Connection } from "../transport/connection.ts";
import { encodeThrown, isThenable, loadCount, runOne } from "./call-runner.ts";
import { bundlePath } from "./code-cache.ts";
import { errorOutcome, resultFrame } from "./result-frame.ts";
import { LANE_COUNTER, type CallOutcome, type LaneConfig, type LaneMessage } from "./task.ts";

// Runs on a worker thread: the thread's own server, so that a driver's call is read,
// run and answered by the thread that runs it. Plain calls of modules the runner already
// holds come this way; calls that may need cancelling or a code fetch go through the
// runner's main thread (session.ts), which can kill a thread and fetch code.


class LaneSession {
  /** Module refs the driver declared, and the bundle paths they stand for. */
  private readonly modules = new Map<number, string>();
  /** Calls started and not yet answered, by driver call id. */
  readonly pending = new Set<number>();
  private draining = false;

  constructor(
    private readonly conn: Connection,
    private readonly cfg: LaneConfig,
    private readonly counters: Int32Array,
    backlog: Uint8Array[][],
    private readonly onIdle: () => void,
    private readonly onClosed: (s: LaneSession) => void,
  ) {
    conn.on("frame", (segs) => this.onFrame(segs));
    conn.on("close", () => this.close());
    for (const segs of backlog) this.onFrame(segs);
  }

  private onFrame(segs: Uint8Array[]): void {
    try {
      const h = headerOf(segs);
      switch (h[0]) {
        case T.Module: {
          const [, ref, hash] = h;
          if (typeof ref !== "number" || typeof hash !== "string") throw new ProtocolError("malformed module declaration");
          this.modules.set(ref, bundlePath(this.cfg.cacheDir, hash)); // validates the hash
          return;
        }
        case T.Call: return this.onCall(h[1], h[2], h[3], segs);
        case T.Heartbeat: return;
        default: throw new ProtocolError(`unexpected message type ${String(h[0])} on a lane`);
      }
    } catch (err) {
      this.conn.destroy(err as Error);
    }
  }

  private onCall(id: number, ref: number, exportName: string, segs: Uint8Array[]): void {
    const modulePath = this.modules.get(ref);
    if (typeof id !== "number" || modulePath === undefined || typeof exportName !== "string" || segs.length < 2 || this.pending.has(id)) {
      throw new ProtocolError("malformed call on a lane");
    }
    if (this.draining) {
      this.reply(id, errorOutcome(id, new ProtocolError("runner is stopping")));
      return;
    }
    this.pending.add(id);
    Atomics.add(this.counters, LANE_COUNTER.inFlight, 1);
    const loadsBefore = loadCount();
    // The segments stay views of the received frame: nothing reuses that memory.
    const r = runOne({ id, modulePath, exportName, segments: segs.slice(1) });
    if (isThenable(r)) void r.then((o) => this.done(id, o, loadsBefore));
    else this.done(id, r, loadsBefore);
  }

  private done(id: number, o: CallOutcome, loadsBefore: number): void {
    const loaded = loadCount() - loadsBefore;
    if (loaded > 0) Atomics.add(this.counters, LANE_COUNTER.loads, loaded);
    this.finish(id, o);
  }

  private finish(id: number, o: CallOutcome): void {
    if (!this.pending.delete(id)) return; // already failed by a crash
    Atomics.sub(this.counters, LANE_COUNTER.inFlight, 1);
    Atomics.add(this.counters, LANE_COUNTER.calls, 1);
    if (!o.ok) Atomics.add(this.counters, LANE_COUNTER.failures, 1);
    this.reply(id, o);
    if (this.pending.size > 0) return;
    if (this.draining) this.conn.end();
    this.onIdle();
  }

  private reply(id: number, o: CallOutcome): void {
    // Attachments are views of memory the user's code may keep and change in its next
    // call, while the socket may still be sending them: send a copy (the body is ours).
    const [body, ...attachments] = o.segments;
    this.conn.send(resultFrame(id, { ...o, segments: [body!, ...attachments.map((a) => a.slice())] }, this.cfg.maxFrame));
  }

  /** The thread is dying of `err`: answer every pending call with it, now. */
  failAll(err: unknown): void {
    const enc = encodeThrown(err);
    for (const id of [...this.pending]) this.finish(id, { id, ok: false, segments: [enc.body, ...enc.attachments], execMicros: 0 });
    this.conn.flushNow();
  }

  drain(): void {
    this.draining = true;
    if (this.pending.size === 0) this.conn.end();
  }

  private close(): void {
    Atomics.sub(this.counters, LANE_COUNTER.inFlight, this.pending.size);
    this.pending.clear();
    this.onClosed(this);
  }
}

/** Starts this thread's lane server and announces its port on the runner's channel. */
export function startLane(cfg: LaneConfig): void {
  const counters = new Int32Array(cfg.counters);
  const channel = new BroadcastChannel(cfg.channel);
  channel.unref();
  const sessions = new Set<LaneSession>();
  const post = (m: LaneMessage): void => channel.postMessage(m);
  let draining = false;
  const maybeDrained = (): void => {
    if (draining && [...sessions].every((s) => s.pending.size === 0)) post({ kind: "drained", threadId });
  };

  const server = net.createServer((socket) => {
    const conn = new Connection(socket, cfg.maxFrame);
    serverHandshake(conn, cfg.token, cfg.info).then(
      ({ backlog }) => {
        const s = new LaneSession(conn, cfg, counters, backlog, maybeDrained, (x) => {
          sessions.delete(x);
          maybeDrained();
        });
        sessions.add(s);
        if (draining) s.drain();
      },
      () => {}, // refused: the handshake has closed the socket
    );
  });
  server.maxConnections = cfg.maxConnections;
  server.listen(0, cfg.host, () => post({ kind: "lane", threadId, port: (server.address() as net.AddressInfo).port }));

  channel.onmessage = (ev: unknown): void => {
    const m = (ev as { data: LaneMessage }).data;
    if (m.kind !== "drain" || draining) return;
    draining = true;
    server.close();
    for (const s of sessions) s.drain();
    maybeDrained();
  };

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
