import type { Connection } from "../../transport/connection.ts";
import type { CountsSnapshot } from "../../protocol/metrics/tally.ts";

/** Who is at the other end of a runner's connection. */
export type PeerKind = "driver" | "runner" | "rank";
export const PEER_KINDS: readonly PeerKind[] = ["driver", "runner", "rank"];

/**
 * Bytes over connections by peer kind, read when a scrape asks: the live connections'
 * own counts (Connection.bytesIn/bytesOut) plus what closed ones had. Nothing on the data
 * path: tracking a connection costs a Map entry and a close listener.
 */
export class ByteMeter {
  private readonly live = new Map<Connection, PeerKind | (() => PeerKind)>();
  private readonly closedIn: CountsSnapshot = {};
  private readonly closedOut: CountsSnapshot = {};

  /** Counts `conn` under `kind` (a function: decided when read, e.g. once a session said it is a driver). */
  track(conn: Connection, kind: PeerKind | (() => PeerKind)): void {
    if (conn.isClosed) return;
    this.live.set(conn, kind);
    conn.socket.once("close", () => {
      const k = this.kindOf(conn);
      if (k === undefined) return;
      this.live.delete(conn);
      this.closedIn[k] = (this.closedIn[k] ?? 0) + conn.bytesIn;
      this.closedOut[k] = (this.closedOut[k] ?? 0) + conn.bytesOut;
    });
  }

  private kindOf(conn: Connection): PeerKind | undefined {
    const k = this.live.get(conn);
    return typeof k === "function" ? k() : k;
  }

  snapshot(): { received: CountsSnapshot; sent: CountsSnapshot } {
    const received = { ...this.closedIn };
    const sent = { ...this.closedOut };
    for (const conn of this.live.keys()) {
      const k = this.kindOf(conn)!;
      received[k] = (received[k] ?? 0) + conn.bytesIn;
      sent[k] = (sent[k] ?? 0) + conn.bytesOut;
    }
    return { received, sent };
  }
}
