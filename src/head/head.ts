import type net from "node:net";
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { createLogger } from "../log.ts";
import { refuseEarly, serverHandshake } from "../protocol/handshake.ts";
import { HEAD_HEARTBEAT, startHeartbeat, type HeartbeatOptions } from "../protocol/heartbeat.ts";
import { frameOf, T, type Member, type MembersChange, type RunnerInfo } from "../protocol/messages.ts";
import { readHeader, reads } from "../protocol/read-header.ts";
import { Connection } from "../transport/connection.ts";
import { isLoopback } from "../transport/loopback.ts";
import { loadTls, Tls, type TlsOptions } from "../transport/secure.ts";
import { createServer } from "../transport/server.ts";
import { Membership } from "./membership.ts";

export interface HeadOptions {
  host?: string;
  port?: number;
  /** Shared secret runners and drivers must prove they hold; required off loopback. */
  token?: string | undefined;
  /** TLS on the head's port (PEM text or file paths); with `ca`, clients need a certificate it signed. */
  tls?: TlsOptions | undefined;
  /** How often the head heartbeats its peers, and how long a silent one stays a member. */
  heartbeat?: HeartbeatOptions;
  maxConnections?: number;
  logger?: Logger;
}


/** A head's connections: a runner registering, a driver subscribed, or one still deciding. */
const FIRST_READS = reads("as a head's first message", T.Join, T.Subscribe);
const RUNNER_READS = reads("from a runner", T.Join, T.Leave, T.Heartbeat);
const DRIVER_READS = reads("from a driver", T.Heartbeat);

/** Peers a head takes at once: runners and drivers of one cluster. */
const DEFAULT_MAX_CONNECTIONS = 4096;

/**
 * A cluster's membership service (`strand head`): runners register and heartbeat, drivers
 * subscribe and hear the live runner set and each change. No calls and no data pass through
 * it, and nothing depends on it staying up: drivers keep the runners they have, runners keep
 * serving, and both reconnect (runners register again) when a head returns on its address.
 */
export class Head {
  readonly membership = new Membership<Connection>();
  readonly log: Logger;
  address = "";
  private readonly tls: Tls | undefined;
  private readonly server: net.Server;
  private readonly conns = new Set<Connection>();
  private readonly id = randomUUID();
  private closing = false;
  private drivers = 0;

  private constructor(private readonly opts: HeadOptions) {
    this.log = opts.logger ?? createLogger("strand-head", "info");
    this.tls = opts.tls === undefined ? undefined : new Tls(loadTls(opts.tls));
    this.tls?.serverOptions(); // no certificate: fail now
    this.server = createServer(this.tls, {
      accept: (socket) => this.accept(socket),
      refuse: (socket, reason) => {
        this.log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, reason }, "client refused before the handshake");
        refuseEarly(new Connection(socket), reason);
      },
      tlsError: (reason, peer) => this.log.warn({ peer, reason }, "TLS handshake failed"),
    });
    this.server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  static async start(opts: HeadOptions = {}): Promise<Head> {
    const host = opts.host ?? "127.0.0.1";
    if (!isLoopback(host) && (opts.token === undefined || opts.token === "")) {
      // Whoever can register with the head can send every driver to a runner of its own.
      throw new Error(`refusing to listen on ${host} without a token: drivers ship code to the runners a head names (set --token or STRAND_TOKEN)`);
    }
    const h = new Head(opts);
    await new Promise<void>((resolve, reject) => {
      h.server.once("error", reject);
      h.server.listen(opts.port ?? 7600, host, () => {
        h.server.off("error", reject);
        resolve();
      });
    });
    const a = h.server.address() as net.AddressInfo;
    h.address = `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
    return h;
  }

  /** Drivers subscribed now. */
  get subscribers(): number {
    return this.drivers;
  }

  private get info(): RunnerInfo {
    return { id: this.id, threads: 0, pid: process.pid, hostname: os.hostname(), maxFrame: 1 << 20, role: "head" };
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // Membership messages are small: a peer announcing a big frame is refused by its size.
    const conn = new Connection(socket, 1 << 20);
    const peer = conn.remoteAddress;
    this.conns.add(conn);
    serverHandshake(conn, this.opts.token, this.info).then(
      ({ backlog }) => {
        if (this.closing) return conn.destroy();
        let role: "runner" | "driver" | undefined;
        let stopHeartbeat = (): void => {};
        let unsubscribe = (): void => {};
        const onFrame = (segs: Uint8Array[]): void => {
          const h = readHeader(segs, role === undefined ? FIRST_READS : role === "runner" ? RUNNER_READS : DRIVER_READS);
          switch (h[0]) {
            case T.Join:
              role = "runner";
              this.membership.join(h[1], conn);
              this.log.info({ runner: h[1].address, threads: h[1].threads, tags: h[1].tags }, "runner joined");
              return;
            case T.Leave:
              if (this.membership.remove(conn, "left") !== undefined) this.log.info({ peer }, "runner left");
              return;
            case T.Subscribe:
              role = "driver";
              this.drivers++;
              unsubscribe = this.membership.subscribe((change, members) => this.tell(conn, change, members));
              return;
            case T.Heartbeat:
              return;
          }
        };
        const handle = (segs: Uint8Array[]): void => {
          try {
            onFrame(segs);
          } catch (err) {
            // A malformed frame closes this connection only.
            this.log.warn({ peer, err: (err as Error).message }, "malformed message: connection closed");
            conn.destroy(err as Error);
          }
        };
        conn.on("frame", handle);
        conn.on("close", (err) => {
          this.conns.delete(conn);
          stopHeartbeat();
          unsubscribe();
          if (role === "driver") this.drivers--;
          const gone = this.membership.remove(conn, "lost");
          if (gone !== undefined && !this.closing) this.log.warn({ runner: gone.address, err: err?.message }, "runner lost");
        });
        stopHeartbeat = startHeartbeat(conn, this.opts.heartbeat ?? HEAD_HEARTBEAT, (ms) => conn.destroy(new Error(`no heartbeat for ${Math.round(ms)} ms`)));
        for (const segs of backlog) handle(segs);
      },
      (err: Error) => {
        this.conns.delete(conn);
        this.log.warn({ peer, err: err.message }, "handshake refused");
      },
    );
  }

  private tell(conn: Connection, change: MembersChange, members: Member[]): void {
    conn.send(frameOf([T.Members, change, members]));
  }

  /** Closes every connection: runners and drivers carry on, and come back to a head on this address. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.conns) c.destroy();
    await closed;
  }
}
