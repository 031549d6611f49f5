import type { Connection } from "../transport/connection.ts";
import { frameOf, T } from "./messages.ts";

export interface HeartbeatOptions {
  /** How often to send a heartbeat (ms). */
  intervalMs: number;
  /** Silence longer than this means the peer is gone (ms). */
  timeoutMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 250, timeoutMs: 1500 };

/**
 * Between a head and its runners and drivers. The head's view is only advice to drivers
 * (each judges its own links by its own heartbeats), so it is slower to call a runner lost
 * than a driver is: a runner in a long GC pause is not worth churning every driver's
 * runner set for.
 */
export const HEAD_HEARTBEAT: HeartbeatOptions = { intervalMs: 500, timeoutMs: 5000 };

const HEARTBEAT_FRAME = frameOf([T.Heartbeat]);

/**
 * Sends a heartbeat every interval in which nothing else was sent, and calls `onSilent`
 * when nothing at all has arrived for `timeoutMs`. If our own timer fired late (this event
 * loop was blocked), the peer's bytes may be waiting unread, so that round judges nothing.
 *
 * Why skip: the peer counts any frame as a sign of life (`lastReceived`), and a heartbeat
 * costs both ends a wake-up (an idle driver with 2 runners spends 6-7 ms of CPU a second on
 * them: docs/decisions.md, builds, session 28). Idle links still beat every interval.
 */
/** What a heartbeat needs of a connection (a fake in test/unit/heartbeat.test.ts). */
export type HeartbeatConnection = Pick<Connection, "send" | "framesSent" | "lastReceived">;

export function startHeartbeat(conn: HeartbeatConnection, opts: HeartbeatOptions, onSilent: (silentMs: number) => void): () => void {
  let expected = performance.now() + opts.intervalMs;
  let sent = conn.framesSent;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - expected > opts.intervalMs;
    expected = now + opts.intervalMs;
    if (conn.framesSent === sent) conn.send(HEARTBEAT_FRAME);
    sent = conn.framesSent;
    if (late) return;
    const silent = now - conn.lastReceived;
    if (silent > opts.timeoutMs) onSilent(silent);
  }, opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
