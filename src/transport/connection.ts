import { readSync } from "node:fs";
import net from "node:net";
import { DEFAULT_MAX_FRAME, FrameDecoder, FrameError } from "./frames.ts";
import { Outbox } from "./outbox.ts";
import { readInto } from "./read-into.ts";
import { tlsFailure, type Tls } from "./secure.ts";

export interface ConnectionEvents {
  /** `owned`: the segments are views of a buffer no one else holds (big frames). */
  frame: (segments: Uint8Array[], owned: boolean) => void;
  /** Called exactly once; `error` is set when the close was caused by a failure. */
  close: (error: Error | undefined) => void;
}

/**
 * A framed, full-duplex byte stream over one TCP socket, or a TLS socket over one. Frames
 * queued within one tick leave together at the end of the tick, which is how many tiny
 * calls share one write and one TCP segment without delaying a lone call.
 */
export class Connection {
  private readonly decoder: FrameDecoder;
  private closed = false;
  private handlers: Partial<ConnectionEvents> = {};
  bytesIn = 0;
  bytesOut = 0;
  /** performance.now() of the last byte received: heartbeats read it. */
  lastReceived = performance.now();
  /** Frames handed to send() so far: a heartbeat is not needed in an interval that sent one. */
  framesSent = 0;

  constructor(readonly socket: net.Socket, maxFrame = DEFAULT_MAX_FRAME) {
    socket.setNoDelay(true);
    // A peer host that vanishes (power, partition) sends no FIN; keepalive notices.
    socket.setKeepAlive(true, 10_000);
    this.decoder = new FrameDecoder((segs, owned) => this.handlers.frame?.(segs, owned), maxFrame);
    const chunk = (bytes: Uint8Array): void => {
      this.lastReceived = performance.now();
      this.bytesIn += bytes.byteLength;
      try {
        // A plain Uint8Array view: Buffer's slice() aliases, Uint8Array's copies, and
        // everything downstream relies on the latter.
        this.decoder.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch (err) {
        // A malformed frame poisons only this connection.
        this.destroy(err instanceof FrameError ? err : toError(err));
      }
    };
    // Big frames are read straight into their own buffer (read-into.ts); TLS reads by chunks.
    const direct = readInto(socket, {
      next: () => (this.held = this.decoder.readTarget()),
      landed: (into, n) => void this.landed(into, n),
      chunk,
    });
    if (!direct) socket.on("data", chunk);
    else this.fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
    // A TLS alert (the peer refused our certificate) is an authentication failure.
    socket.on("error", (err) => this.finish(tlsFailure(err) ?? err));
    socket.on("close", () => this.finish(undefined));
  }

  /**
   * Reads what the socket holds right now, synchronously, and decodes it (frames are emitted
   * as from the event loop's reads): for a caller that busy-polls for a message rather than
   * sleep in epoll until it comes (runner/spmd/remote-links.ts). Returns the bytes read:
   * 0 when there are none now or when it cannot poll, -1 at the end of the stream or on an
   * error (the event loop's read then sees the same and closes as usual).
   *
   * Only while the event loop's next read would land in the decoder's scratch buffer: a read
   * of its own into a big frame's memory would leave the loop holding a stale place in that
   * frame (Node updates it only after a read of its own). Reads of the loop that land in
   * scratch while a frame polled into is unfinished are copied into that frame as chunks.
   */
  pollRead(): number {
    if (this.closed || this.fd === undefined || this.fd < 0 || !this.decoder.isScratch(this.held)) return 0;
    const into = this.decoder.readTarget();
    let n: number;
    try {
      n = readSync(this.fd, into, 0, into.byteLength, null);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EAGAIN" ? 0 : -1;
    }
    if (n === 0) return -1;
    return this.landed(into, n) ? n : -1;
  }

  /** `n` bytes read into `into` (the event loop's read or a poll): decoded; false if they were malformed (the connection is then closed). */
  private landed(into: Uint8Array, n: number): boolean {
    this.lastReceived = performance.now();
    this.bytesIn += n;
    try {
      this.decoder.pushRead(into, n);
      return true;
    } catch (err) {
      // A malformed frame poisons only this connection.
      this.destroy(err instanceof FrameError ? err : toError(err));
      return false;
    }
  }

  /** The memory the event loop's next read lands in (read-into.ts), as last handed to it. */
  private held: Uint8Array | undefined;
  /** The socket's descriptor, where reads go straight to the decoder's memory (plain TCP). */
  private fd: number | undefined;

  /** Bytes queued for the kernel and not yet taken by it. */
  get unsent(): number {
    return this.outbox.pendingBytes + this.socket.writableLength;
  }

  on<K extends keyof ConnectionEvents>(event: K, handler: ConnectionEvents[K]): this {
    this.handlers[event] = handler;
    return this;
  }

  /** The largest frame accepted from now on. */
  get maxFrame(): number {
    return this.decoder.maxFrame;
  }

  set maxFrame(bytes: number) {
    this.decoder.maxFrame = bytes;
  }

  /** Big frames from now on arrive in SharedArrayBuffers (see FrameDecoder). */
  set sharedBigFrames(on: boolean) {
    this.decoder.shared = on;
  }

  /** Big frames from now on are read into memory from `take` (see FrameDecoder.bigBuffer). */
  set bigFrameBuffers(take: ((bytes: number) => Uint8Array) | undefined) {
    this.decoder.bigBuffer = take;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? "?"}`;
  }

  send(segments: readonly Uint8Array[]): void {
    if (this.closed) return;
    this.framesSent++;
    this.outbox.push(segments);
    // Big frames leave now, so the kernel sends while the caller encodes the next one
    // (eight 15 MB calls in a row must not wait for the last to be encoded).
    if (this.outbox.pendingBytes >= FLUSH_NOW_BYTES) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  private readonly outbox = new Outbox();
  private flushScheduled = false;

  /**
   * Frames made at the last moment: runs as what is queued is about to be written, and may
   * send (a batch of the calls or results of this turn: protocol/call-batch.ts).
   */
  beforeFlush: (() => void) | undefined;

  /** Asks for a flush at the end of this tick, as a send does: for what beforeFlush will send. */
  flushSoon(): void {
    if (this.closed || this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    // What beforeFlush sends leaves with this write: while it runs, a send must not ask for
    // another flush (one more process.nextTick per lone call on each side, which found
    // nothing to write).
    if (this.beforeFlush !== undefined && !this.closed) {
      this.flushScheduled = true;
      this.beforeFlush();
    }
    this.flushScheduled = false; // a scheduled flush finding nothing left is harmless
    const parts = this.outbox.take();
    this.bytesOut = this.outbox.bytes;
    if (this.closed || parts.length === 0) return;
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
      return;
    }
    this.socket.cork();
    for (const p of parts) this.socket.write(p);
    this.socket.uncork();
  };

  /** Writes what is queued now rather than at the end of the tick (e.g. before a thread dies). */
  flushNow(): void {
    this.flush();
  }

  /** Resolves once everything queued so far has been handed to the kernel. */
  flushed(): Promise<void> {
    if (!this.outbox.empty || this.beforeFlush !== undefined) this.flush();
    if (this.closed || this.socket.writableLength === 0) return Promise.resolve();
    if (this.socket.writable) return new Promise((resolve) => this.socket.write(new Uint8Array(0), () => resolve()));
    // Ended (by us, or for us at the peer's FIN): a write now would fail the connection
    // ("ended by the other party"), but what was queued still goes out, then "finish".
    return new Promise((resolve) => {
      this.socket.once("finish", resolve);
      this.socket.once("close", resolve);
    });
  }

  /** Graceful: flush queued frames, then close. */
  end(): void {
    if (this.closed) return;
    if (!this.outbox.empty || this.beforeFlush !== undefined) this.flush();
    this.socket.end();
  }

  destroy(error?: Error): void {
    this.finish(error);
    this.socket.destroy();
  }

  private finish(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.close?.(error);
  }
}

const FLUSH_NOW_BYTES = 256 * 1024;

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Opens a TCP connection, and runs TLS over it when `tls` is given. Rejects after
 * `timeoutMs` or when the peer refuses TCP with a plain Error, and when TLS fails with an
 * AuthError (see Tls.upgrade).
 */
export async function dial(host: string, port: number, opts: { tls?: Tls | undefined; timeoutMs?: number } = {}): Promise<net.Socket> {
  const socket = await dialTcp(host, port, opts.timeoutMs ?? 5000);
  return opts.tls === undefined ? socket : opts.tls.upgrade(socket, host);
}

function dialTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function parseAddress(addr: string, defaultPort = 7700): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(addr.trim());
  if (m === null || m[1] === undefined || m[1] === "") throw new TypeError(`bad address "${addr}" (want host:port)`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`bad port in "${addr}"`);
  return { host: m[1], port };
}
