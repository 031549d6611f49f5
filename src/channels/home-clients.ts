import { CancelledError, ChannelBrokenError, ProtocolError } from "../errors.ts";
import { Chan, type ChanOps, type RecvResult, type Selected, type SelectOptions, type WireCase } from "../protocol/chan.ts";
import { homeOf } from "../protocol/chan-id.ts";
import { decodeError, decodeSegments, encodeSegments } from "../protocol/codec.ts";
import { dialPeer } from "../protocol/handshake.ts";
import { frameOf, T, type ChanRequest } from "../protocol/messages.ts";
import { readHeader, reads } from "../protocol/read-header.ts";
import type { Connection } from "../transport/connection.ts";
import type { Tls } from "../transport/secure.ts";

// The client side of channels made on runner threads, the same on a worker thread and in
// a driver: one authenticated connection per home thread (to its lane), over which this
// process's operations on that thread's channels go, values inline (one hop, sender to
// home). The home applies Go's semantics; this side encodes, waits, keeps send credits
// and withdraws what an AbortSignal cancels.

/** What a client reads from a channel's home. */
export const HOME_CLIENT_READS = reads("from a channel's home", T.ChanReply, T.ChanRevoke, T.Heartbeat);

/** How a client reaches homes: the cluster's token and TLS, as for every other port. */
export interface HomeDialing {
  token: string | undefined;
  tls: Tls | undefined;
  maxFrame: number;
  /** Told of each connection once open (byte counters). */
  opened?(conn: Connection): void;
}

interface Waiter {
  chan: string;
  settle(ok: boolean, index: number, done: boolean, segs: Uint8Array[]): void;
  fail(err: Error): void;
}

/** One home thread, as this process reaches it. */
class HomeConnection {
  private conn: Connection | undefined;
  /** Frames written before the connection is up, in order. */
  private queued: Uint8Array[][] | undefined = [];
  private broken: string | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextOp = 1;
  /** Sends this process may make on a channel without asking (slots the home reserved for it). */
  private readonly credits = new Map<string, number>();
  private readonly handles = new Map<string, WeakRef<Chan<unknown>>>();

  constructor(readonly home: string, host: string, port: number, dialing: HomeDialing) {
    dialPeer(host, port, dialing).then((conn) => {
      if (this.broken !== undefined) return conn.destroy();
      dialing.opened?.(conn);
      conn.on("frame", (segs: Uint8Array[]) => this.onFrame(conn, segs));
      conn.on("close", (err?: Error) => this.lose(err === undefined ? "its connection closed" : `its connection failed: ${err.message}`));
      this.conn = conn;
      for (const f of this.queued ?? []) conn.send(f);
      this.queued = undefined;
    }).catch((err: unknown) => this.lose(`cannot reach it: ${(err as Error).message}`));
  }

  handle(id: string, capacity: number): Chan<unknown> {
    let h = this.handles.get(id)?.deref();
    if (h === undefined) this.handles.set(id, new WeakRef((h = new Chan(id, capacity, this.ops))));
    return h;
  }

  /** Every waiting and later operation fails: the home is gone (or this process is done). */
  lose(why: string): void {
    if (this.broken !== undefined) return;
    this.broken = `its home ${this.home.slice(1)} is unreachable: ${why}`;
    this.queued = undefined;
    this.credits.clear();
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.fail(new ChannelBrokenError(w.chan, this.broken));
    this.conn?.destroy();
  }

  private send(frame: Uint8Array[]): void {
    if (this.queued !== undefined) this.queued.push(frame);
    else this.conn?.send(frame);
  }

  private onFrame(conn: Connection, segs: Uint8Array[]): void {
    try {
      const h = readHeader(segs, HOME_CLIENT_READS);
      if (h[0] === T.ChanReply) {
        const w = this.waiting.get(h[1]);
        this.waiting.delete(h[1]);
        if (typeof h[6] === "number" && h[6] > 0 && w !== undefined) this.credits.set(w.chan, (this.credits.get(w.chan) ?? 0) + h[6]);
        w?.settle(h[2] === true, h[3], h[4] === true, segs.slice(1));
      } else if (h[0] === T.ChanRevoke) {
        // After every credited send already written on this connection: the home counts right.
        const n = this.credits.get(h[1]) ?? 0;
        this.credits.delete(h[1]);
        conn.send(frameOf([T.ChanReturn, h[1], n]));
      }
    } catch (err) {
      conn.destroy(err as Error);
    }
  }

  /** Sends one operation; resolves with the home's answer (segments: a received value). */
  private request(req: ChanRequest, values: Uint8Array[][], signal: AbortSignal | undefined, chan: string): Promise<{ index: number; done: boolean; segs: Uint8Array[] }> {
    if (this.broken !== undefined) return Promise.reject(new ChannelBrokenError(chan, this.broken));
    if (signal?.aborted) return Promise.reject(new CancelledError("channel operation cancelled", { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const opId = this.nextOp++;
      const onAbort = (): void => {
        if (!this.waiting.delete(opId)) return;
        this.send(frameOf([T.ChanCancel, opId]));
        reject(new CancelledError("channel operation cancelled", { cause: signal?.reason }));
      };
      this.waiting.set(opId, {
        chan,
        settle: (ok, index, done, segs) => {
          signal?.removeEventListener("abort", onAbort);
          if (ok) resolve({ index, done, segs });
          else reject(decodeError(segs));
        },
        fail: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.send([...frameOf([T.ChanOp, opId, req, values.map((v) => v.length)]), ...values.flat()]);
    });
  }

  private readonly ops: ChanOps = {
    send: async (chan, value, signal) => {
      const v = encodeSegments(value, "value");
      const held = this.credits.get(chan) ?? 0;
      if (held > 0 && signal?.aborted !== true && this.broken === undefined) {
        // A slot is already ours: send without waiting (in order, on this connection).
        this.credits.set(chan, held - 1);
        this.send([...frameOf([T.ChanOp, 0, { op: "csend", chan }, [v.length]]), ...v]);
        return;
      }
      await this.request({ op: "send", chan }, [v], signal, chan);
    },
    recv: async (chan, signal): Promise<RecvResult<unknown>> => {
      const r = await this.request({ op: "recv", chan }, [], signal, chan);
      return r.done ? { value: undefined, done: true } : { value: decodeSegments(r.segs), done: false };
    },
    close: async (chan) => {
      await this.request({ op: "close", chan }, [], undefined, chan);
    },
    len: async (chan) => (await this.request({ op: "len", chan }, [], undefined, chan)).index,
    select: async (cases: WireCase[], options: SelectOptions): Promise<Selected> => {
      const values = cases.flatMap((c, i) => (c.op === "send" ? [encodeSegments(c.value, `cases[${i}].value`)] : []));
      const req: ChanRequest = {
        op: "select", cases: cases.map((c) => ({ op: c.op, chan: c.chan })), default: options.default === true, timeout: options.timeout,
      };
      const r = await this.request(req, values, options.signal, cases[0]?.chan ?? "");
      if (r.index < 0) return { index: -1 };
      if (r.done) return { index: r.index, done: true };
      return r.segs.length > 0 ? { index: r.index, value: decodeSegments(r.segs) } : { index: r.index };
    },
  };
}

/**
 * This process's connections to the runner threads whose channels it uses, opened at the
 * first use of one and kept while the thread lives. A home once lost stays lost: its
 * channels died with it (a thread started again draws a new nonce, so new ids).
 */
export class HomeClients {
  private readonly homes = new Map<string, HomeConnection>();
  private closed: string | undefined;

  constructor(private readonly dialing: HomeDialing) {}

  /** The handle of a channel made on a runner thread. */
  handle(id: string, capacity: number): Chan<unknown> {
    const where = homeOf(id);
    if (where?.kind !== "thread") throw new ProtocolError(`not a runner thread's channel id: ${id}`);
    let h = this.homes.get(where.home);
    if (h === undefined) {
      h = new HomeConnection(where.home, where.host, where.port, this.dialing);
      this.homes.set(where.home, h);
      if (this.closed !== undefined) h.lose(this.closed);
    }
    return h.handle(id, capacity);
  }

  /** Every connection closes; their waiting and later operations fail with ChannelBrokenError. */
  close(reason: string): void {
    this.closed = reason;
    for (const h of this.homes.values()) h.lose(reason);
  }
}
