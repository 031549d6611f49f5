import net from "node:net";
import { JobAbortedError, ProtocolError } from "../../errors.ts";
import { decodeValue } from "../../protocol/codec.ts";
import { clientHandshake, refuseEarly, serverHandshake } from "../../protocol/handshake.ts";
import { frameOf, payloadOf, T, type Header } from "../../protocol/messages.ts";
import { readHeader, reads } from "../../protocol/read-header.ts";
import type { RankAddress } from "../../protocol/spmd-wire.ts";
import { Connection, dial } from "../../transport/connection.ts";
import { BIG_SEGMENT } from "../../transport/outbox.ts";
import { createServer } from "../../transport/server.ts";
import { threadMetrics } from "../metrics/thread-metrics.ts";
import type { RankConfig } from "./config.ts";
import { FramePool } from "./frame-pool.ts";
import type { Envelope } from "./mailbox.ts";
import { rawValue } from "./raw-binary.ts";

// Ranks on other runners: a TCP connection per ordered pair, dialed by the sender on its
// first message (one sender, one socket: per-pair order is TCP's order). Both ends prove
// the runners' shared token with the usual handshake (over TLS when the runner has it); the dialer then says which rank of
// which job it is. A thread serves its ranks from the thread itself: no hop through the
// runner's main thread.

/**
 * A polling receive gives up after this long without a byte arriving (then the event loop
 * wakes it). Quiet, a 1 MiB answer starts arriving within ~0.2-0.4 ms of the send; at load
 * average 30 a 1 ms budget was spent in full on most waits (1 MiB round trips 12-14 ms
 * without polling, 16-18 ms with it): half that bounds what a wait that will not be answered
 * soon costs the CPU.
 */
const POLL_MS = 0.5;
/** `STRAND_RANK_POLL=0` in a runner's environment: blocking receives wait in the event loop (to compare). */
const POLLING = process.env.STRAND_RANK_POLL !== "0";

/** A connection from another rank: its hello, then its messages. */
const HELLO_READS = reads("from a rank, first", T.RankHello);
const RANK_READS = reads("from a rank", T.RankMessage, T.RankBytes);

interface Outgoing {
  conn: Connection | undefined;
  /** Frames waiting for the handshake, with the sends waiting on them. */
  waiting: { frame: Uint8Array[]; flush: boolean; done: (e?: Error) => void }[];
  failure: Error | undefined;
}

export interface RemoteEvents {
  deliver(m: Envelope): void;
  /** A connection from or to `rank` broke while the job was running. */
  lost(rank: number, err: Error): void;
}

export class RemoteLinks {
  private readonly server: net.Server;
  private readonly incoming = new Set<Connection>();
  /** Incoming connections by the rank that dialed them, once it said who it is. */
  private readonly from = new Map<number, Connection>();
  private readonly outgoing = new Map<number, Outgoing>();
  private table: RankAddress[] = [];
  private closed = false;

  private constructor(private readonly job: string, private readonly rank: number, private readonly size: number,
    private readonly cfg: RankConfig, private readonly events: RemoteEvents, private readonly pool: FramePool) {
    this.server = createServer(cfg.tls, { accept: (socket) => this.accept(socket), refuse: (socket, reason) => refuseEarly(new Connection(socket), reason) });
    this.server.maxConnections = cfg.maxConnections;
  }

  static async listen(job: string, rank: number, size: number, cfg: RankConfig, events: RemoteEvents, pool = new FramePool()): Promise<RemoteLinks> {
    const links = new RemoteLinks(job, rank, size, cfg, events, pool);
    await new Promise<void>((resolve, reject) => {
      links.server.once("error", reject);
      links.server.listen(0, cfg.host, () => resolve());
    });
    return links;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  setTable(table: RankAddress[]): void {
    this.table = table;
  }

  private accept(socket: net.Socket): void {
    const conn = new Connection(socket, this.cfg.maxFrame);
    // Messages are read into the rank's pool; the collectives give theirs back (frame-pool.ts).
    conn.bigFrameBuffers = (bytes) => this.pool.take(bytes);
    serverHandshake(conn, this.cfg.token, this.cfg.info).then(({ backlog }) => {
      if (this.closed) return conn.destroy();
      threadMetrics?.bytes.track(conn, "rank");
      this.incoming.add(conn);
      let source = -1;
      const onFrame = (segs: Uint8Array[], owned: boolean): void => {
        try {
          if (source < 0) {
            const [, job, from] = readHeader(segs, HELLO_READS);
            if (job !== this.job || from < 0 || from >= this.size) throw new ProtocolError("expected the hello of a rank of this job");
            source = from;
            this.from.set(from, conn);
            return;
          }
          const h = readHeader(segs, RANK_READS);
          if (h[0] === T.RankBytes) {
            const [, context, tag, raw] = h;
            const bytes = segs[1];
            if (bytes === undefined || segs.length !== 2) throw new ProtocolError("a rank's bytes come as one segment");
            // A big frame's buffer is this message's alone, its segments 8-aligned (frames.ts):
            // the value is made on it in place. A small frame shares its read's memory with
            // others: the value gets a copy of its own.
            const own = owned && bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
            this.events.deliver({ context, source, tag, value: rawValue(raw, own), bytes: bytes.byteLength });
            return;
          }
          const [, context, tag] = h;
          const { body, attachments } = payloadOf(segs);
          const bytes = attachments.reduce((n, x) => n + x.byteLength, body.byteLength);
          this.events.deliver({ context, source, tag, value: decodeValue(body, attachments), bytes });
        } catch (err) {
          conn.destroy(err as Error); // this connection only
        }
      };
      conn.on("frame", onFrame);
      conn.on("close", (err) => {
        this.incoming.delete(conn);
        if (source >= 0 && this.from.get(source) === conn) this.from.delete(source);
        if (!this.closed && source >= 0) {
          this.events.lost(source, new JobAbortedError(source, `the connection from rank ${source} broke${err ? `: ${err.message}` : ""}`));
        }
      });
      for (const segs of backlog) onFrame(segs, false);
    }, () => {}); // refused (wrong token): the handshake closed it
  }

  /**
   * Busy-polls the connection from `source` until `done()` (a blocking receive's message has
   * come) or until nothing arrived for POLL_MS: MPI's progress engine, for a rank with a CPU
   * of its own. A message then reaches the receiver without it sleeping in epoll and being
   * woken (on a VM a wake-up of an idle CPU costs tens of µs, and a 1 MiB message that
   * arrives in several pieces woke its receiver once per piece), and the peer, polling too,
   * sees the answer the same way. Not while a send of this rank waits for the kernel: those
   * bytes move only from the event loop (a collective's exchange would stall on its own
   * unsent half).
   */
  poll(source: number, done: () => boolean): void {
    const conn = this.from.get(source);
    if (conn === undefined || !POLLING || this.closed || this.sending()) return;
    // readSync reports "nothing yet" by throwing: without stack traces that costs little.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      let last = performance.now();
      while (!done()) {
        const n = conn.pollRead();
        if (n < 0) return;
        const now = performance.now();
        if (n > 0) last = now;
        else if (now - last > POLL_MS) return;
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** Does a send of this rank wait for the kernel to take its bytes? */
  private sending(): boolean {
    for (const o of this.outgoing.values()) {
      if (o.waiting.length > 0 || (o.conn !== undefined && o.conn.unsent > 0)) return true;
    }
    return false;
  }

  /**
   * Queues a message to `dest`. Resolves when it may be reused: at once for a message
   * whose bytes are all ours (`flush` false), else once the kernel has taken them.
   */
  send(dest: number, context: string, tag: number, segments: Uint8Array[], flush: boolean): Promise<void> {
    return this.sendFrame(dest, [T.RankMessage, context, tag], segments, flush);
  }

  /**
   * Queues a binary value to `dest` as its bytes (raw: its kind, raw-binary.ts), without the
   * codec. Resolves once `bytes` may be reused: at once when the outbox copies them (small),
   * else once the kernel has taken them.
   */
  sendBytes(dest: number, context: string, tag: number, raw: number, bytes: Uint8Array): Promise<void> {
    const out = this.outgoing.get(dest);
    // Before the connection is up the frame waits by reference: a small one gets a copy, as the outbox would.
    const small = bytes.byteLength < BIG_SEGMENT;
    const segment = small && out?.conn === undefined ? bytes.slice() : bytes;
    return this.sendFrame(dest, [T.RankBytes, context, tag, raw], [segment], !small);
  }

  private sendFrame(dest: number, header: Header, segments: Uint8Array[], flush: boolean): Promise<void> {
    const out = this.outgoing.get(dest) ?? this.dial(dest);
    if (out.failure !== undefined) return Promise.reject(out.failure);
    const frame = [...frameOf(header), ...segments];
    if (out.conn !== undefined) {
      out.conn.send(frame);
      // Now, not at the end of the tick: a rank that goes on computing after this send (or
      // after a sendrecv whose receive had already arrived) would hold its message back
      // for the whole computation, and its peer with it.
      out.conn.flushNow();
      return flush ? out.conn.flushed() : Promise.resolve();
    }
    return new Promise((resolve, reject) => out.waiting.push({ frame, flush, done: (e) => (e ? reject(e) : resolve()) }));
  }

  private dial(dest: number): Outgoing {
    const out: Outgoing = { conn: undefined, waiting: [], failure: undefined };
    this.outgoing.set(dest, out);
    const to = this.table[dest];
    const fail = (err: Error): void => {
      if (out.failure !== undefined) return;
      // Named as the failed rank, though from here a bad link of ours looks the same as a
      // dead peer: the reason says which rank could not reach it.
      out.failure = new JobAbortedError(dest, `rank ${this.rank} cannot reach rank ${dest}: ${err.message}`);
      for (const w of out.waiting.splice(0)) w.done(out.failure);
      if (!this.closed) this.events.lost(dest, out.failure);
    };
    if (to === undefined) {
      fail(new Error("no address"));
      return out;
    }
    dial(to.host, to.port, { tls: this.cfg.tls }).then(async (socket) => {
      const conn = new Connection(socket, this.cfg.maxFrame);
      await clientHandshake(conn, this.cfg.token);
      if (this.closed) return conn.destroy(); // its waiting sends were failed by close()
      threadMetrics?.bytes.track(conn, "rank");
      conn.on("frame", () => conn.destroy(new ProtocolError("a rank's inbound connection does not answer")));
      conn.on("close", (err) => fail(err ?? new Error("connection closed")));
      conn.send(frameOf([T.RankHello, this.job, this.rank]));
      out.conn = conn;
      for (const w of out.waiting.splice(0)) {
        conn.send(w.frame);
        if (w.flush) conn.flushed().then(() => w.done(), (e: Error) => w.done(e));
        else w.done();
      }
      conn.flushNow();
    }).catch((err: unknown) => fail(err as Error));
    return out;
  }

  /** `failure`: the job was aborted, so queued frames are dropped rather than flushed. */
  close(failure?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const c of this.incoming) c.destroy();
    const gone = failure ?? new JobAbortedError(this.rank, "the rank's job ended");
    for (const o of this.outgoing.values()) {
      for (const w of o.waiting.splice(0)) w.done(gone);
      if (failure === undefined) o.conn?.end();
      else o.conn?.destroy();
    }
  }
}
