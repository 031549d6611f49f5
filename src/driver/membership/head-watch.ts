import type { Logger } from "pino";
import { AuthError, ProtocolError, RunnerLostError } from "../../errors.ts";
import { clientHandshake } from "../../protocol/handshake.ts";
import { HEAD_HEARTBEAT, startHeartbeat } from "../../protocol/heartbeat.ts";
import { frameOf, T, type Member, type MembersChange } from "../../protocol/messages.ts";
import { readHeader, reads } from "../../protocol/read-header.ts";
import { Backoff } from "../../transport/backoff.ts";
import { Connection, dial, parseAddress } from "../../transport/connection.ts";
import type { Tls } from "../../transport/secure.ts";

const HEAD_READS = reads("from a head", T.Members, T.Heartbeat);

export interface HeadWatchHost {
  /** The runner set as the head tells it: `all` after every (re)connection, then each change. */
  members(change: MembersChange, members: Member[]): void;
  log: Logger;
}

/**
 * A driver's subscription to its cluster's head (`connect({ head })`): the live runner set
 * and every change. When the head goes away the driver keeps every runner it has; this
 * dials the head again with backoff, and on its return hears the whole set again (`all`),
 * which the cluster reconciles with its own links.
 */
export class HeadWatch {
  private conn: Connection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff = new Backoff();

  private constructor(
    readonly address: string,
    private readonly token: string | undefined,
    private readonly tls: Tls | undefined,
    private readonly host: HeadWatchHost,
  ) {}

  /**
   * Subscribes; resolves once the head has told the runner set. A head that cannot be
   * reached now is an error (a wrong address should fail at connect, not later).
   */
  static async start(address: string, token: string | undefined, tls: Tls | undefined, host: HeadWatchHost): Promise<HeadWatch> {
    const w = new HeadWatch(address, token, tls, host);
    await w.connect();
    return w;
  }

  private async connect(): Promise<void> {
    const { host, port } = parseAddress(this.address, 7600);
    const socket = await dial(host, port, { tls: this.tls }).catch((err: Error) => {
      throw err instanceof AuthError ? err : new RunnerLostError(this.address, `cannot reach the head: ${err.message}`);
    });
    const conn = new Connection(socket, 16 << 20);
    const { info, backlog } = await clientHandshake(conn, this.token).catch((err: Error) => {
      conn.destroy();
      throw err;
    });
    if (info.role !== "head") {
      conn.destroy();
      throw new ProtocolError(`${this.address} is a runner, not a head: pass it in \`runners\`, or give the head's address`);
    }
    if (this.stopped) return conn.destroy();
    let first: (() => void) | undefined;
    const told = new Promise<void>((resolve) => (first = resolve));
    const handle = (segs: Uint8Array[]): void => {
      let h;
      try {
        h = readHeader(segs, HEAD_READS);
      } catch (err) {
        this.host.log.warn({ head: this.address, err: (err as Error).message }, "malformed message from the head: connection closed");
        conn.destroy(err as Error);
        return;
      }
      if (h[0] !== T.Members) return;
      this.host.members(h[1], h[2]);
      if (h[1] === "all") first?.();
    };
    this.conn = conn;
    const stopHeartbeat = startHeartbeat(conn, HEAD_HEARTBEAT, (ms) => conn.destroy(new Error(`no heartbeat from the head for ${Math.round(ms)} ms`)));
    conn.on("frame", handle);
    conn.on("close", (err) => {
      stopHeartbeat();
      this.conn = undefined;
      first?.(); // a head gone before it spoke: connect() goes on with the runners it was given
      if (this.stopped) return;
      this.host.log.warn({ head: this.address, err: err?.message }, "lost the head: keeping the runners, dialling it again");
      this.retry();
    });
    for (const segs of backlog) handle(segs);
    conn.send(frameOf([T.Subscribe]));
    await told;
    first = undefined;
    this.backoff.reset();
  }

  private retry(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().catch((err: Error) => {
        if (this.stopped) return;
        this.host.log.debug({ head: this.address, err: err.message }, "head not back yet");
        this.retry();
      });
    }, this.backoff.next());
    // Waiting for a head must not keep a finished program alive.
    this.timer.unref();
  }

  /** Whether the head is connected now. */
  get connected(): boolean {
    return this.conn !== undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.conn?.destroy();
  }
}
