import { frameOf, T } from "../protocol/messages.ts";
import type { Connection } from "../transport/connection.ts";
import { dropNotice } from "./output-lines.ts";

/** Bytes waiting in a connection's socket beyond which lines for its driver are dropped. */
export const LOG_BACKLOG_MAX = 4 * 1024 * 1024;

/**
 * Lines of calls for the driver at the other end of `conn` (T.Log), a session's or a lane's.
 * A driver that does not read them fast enough loses lines rather than the runner's memory:
 * while the socket holds more than LOG_BACKLOG_MAX unsent bytes, lines are counted, not
 * queued, and the next lines that go are preceded by the count.
 */
export class LogFrames {
  private dropped = 0;

  constructor(private readonly conn: Connection, private readonly backlogMax = LOG_BACKLOG_MAX) {}

  send(callId: number, fn: string, stream: number, lines: string[]): void {
    if (this.conn.isClosed) return;
    if (this.conn.socket.writableLength > this.backlogMax) {
      this.dropped += lines.length;
      return;
    }
    if (this.dropped > 0) {
      lines = [dropNotice(this.dropped, "the driver was not reading them"), ...lines];
      this.dropped = 0;
    }
    this.conn.send(frameOf([T.Log, callId, fn, stream, lines]));
  }
}
