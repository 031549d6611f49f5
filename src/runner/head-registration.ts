import type { Logger } from "pino";
import { AuthError, ProtocolError } from "../errors.ts";
import { clientHandshake } from "../protocol/handshake.ts";
import { startHeartbeat, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import { frameOf, T, type Member } from "../protocol/messages.ts";
import { Backoff } from "../transport/backoff.ts";
import { Connection, dial, parseAddress } from "../transport/connection.ts";
import type { Tls } from "../transport/secure.ts";

export interface RegistrationOptions {
  /** The head's host:port. */
  head: string;
  token: string | undefined;
  tls: Tls | undefined;
  /** This runner as drivers should see it; `localHost` is our end of the connection to the head. */
  member(localHost: string): Member;
  heartbeat: HeartbeatOptions;
  log: Logger;
  /**
   * Give up after this long without the head (ms; from start, or from the loss of the head),
   * calling `onHeadGone` once: a runner whose cluster is gone (a Slurm job whose driver and head
   * were killed) stops instead of holding its allocation until walltime. Unset: never.
   */
  headTimeoutMs?: number | undefined;
  onHeadGone?: (() => void) | undefined;
}

/**
 * A runner's registration with its head (`strand runner --join`): dial, the usual handshake,
 * Join, then heartbeats. Whenever the connection is lost (the head restarted, a network blip)
 * it dials again with backoff and registers again, for as long as the runner runs: the head
 * keeps no state worth saving, the runners re-create it. A refused handshake (wrong token, no
 * TLS) is logged loudly and retried all the same (slowly), since a head may be fixed and
 * restarted; the runner keeps serving drivers that already know it meanwhile.
 */
export class HeadRegistration {
  private conn: Connection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 5000 });
  /** Resolves the first time the head accepted the registration. */
  readonly registered: Promise<void>;
  private markRegistered!: () => void;
  /** Whether the head has our registration now. */
  joined = false;
  /** performance.now() since which we have had no head (start, or the last loss). */
  private headlessSince = performance.now();

  constructor(private readonly opts: RegistrationOptions) {
    this.registered = new Promise((r) => (this.markRegistered = r));
    this.attempt();
  }

  private attempt(): void {
    this.timer = undefined;
    void this.connect().catch((err: Error) => {
      if (this.stopped) return;
      const level = err instanceof AuthError || err instanceof ProtocolError ? "error" : "debug";
      this.opts.log[level]({ head: this.opts.head, err: err.message }, "cannot register with the head; trying again");
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped || this.timer !== undefined) return;
    const limit = this.opts.headTimeoutMs;
    if (limit !== undefined && performance.now() - this.headlessSince >= limit) {
      this.stopped = true;
      this.opts.log.error({ head: this.opts.head, headTimeoutMs: limit }, "no head for too long: stopping");
      this.opts.onHeadGone?.();
      return;
    }
    // A runner waiting for its head must not keep a stopping process alive.
    this.timer = setTimeout(() => this.attempt(), this.backoff.next()).unref();
  }

  private async connect(): Promise<void> {
    const { host, port } = parseAddress(this.opts.head, 7600);
    const socket = await dial(host, port, { tls: this.opts.tls });
    const conn = new Connection(socket, 1 << 20);
    const { info } = await clientHandshake(conn, this.opts.token).catch((err: Error) => {
      conn.destroy();
      throw err;
    });
    if (info.role !== "head") {
      conn.destroy();
      throw new ProtocolError(`${this.opts.head} is a runner, not a head (--join wants a head's address)`);
    }
    if (this.stopped) return conn.destroy();
    this.conn = conn;
    const stopHeartbeat = startHeartbeat(conn, this.opts.heartbeat, (ms) => conn.destroy(new Error(`no heartbeat from the head for ${Math.round(ms)} ms`)));
    conn.on("frame", () => {}); // heartbeats; a head sends runners nothing else
    conn.on("close", (err) => {
      stopHeartbeat();
      this.conn = undefined;
      this.joined = false;
      this.headlessSince = performance.now();
      if (this.stopped) return;
      this.opts.log.warn({ head: this.opts.head, err: err?.message }, "lost the head; registering again when it returns");
      this.retry();
    });
    conn.send(frameOf([T.Join, this.opts.member(socket.localAddress ?? "127.0.0.1")]));
    this.joined = true;
    this.backoff.reset();
    this.opts.log.info({ head: this.opts.head }, "registered with the head");
    this.markRegistered();
  }

  /** The runner is stopping: tell the head (a goodbye, not a loss) and stop registering. */
  leave(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.conn !== undefined) {
      this.conn.send(frameOf([T.Leave]));
      this.conn.end();
    }
  }
}
