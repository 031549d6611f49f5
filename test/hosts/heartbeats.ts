import type { HeartbeatOptions } from "../../src/protocol/heartbeat.ts";

/**
 * The fault matrix's heartbeats. TIGHT notices a silent runner well inside the 1 s link cut
 * (runners heartbeat every 250 ms, so 750 ms of silence is three missed beats); TOLERANT
 * rides a 1 s cut out (TCP's retransmissions resume within ~1.6 s of its start) and a
 * 200 ms + 5% loss link (one retransmission there takes ~0.6-1 s).
 */
export const TIGHT: HeartbeatOptions = { intervalMs: 100, timeoutMs: 750 };
export const TOLERANT: HeartbeatOptions = { intervalMs: 250, timeoutMs: 3000 };

/** How long after a runner falls silent the driver has declared it lost, at the latest. */
export const boundMs = (hb: HeartbeatOptions): number => hb.intervalMs + hb.timeoutMs;
