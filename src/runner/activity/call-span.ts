import { decodeError } from "../../protocol/codec.ts";
import type { SpanTuple } from "../../protocol/activity.ts";
import type { CallOutcome } from "../task.ts";

/**
 * A finished call as a span, for the drivers watching this runner. An outcome that never
 * started (turned away, cancelled in the queue) has no span. A failure names its error the
 * way the driver will (code, or name, and message): decoding it costs, but only failures
 * pay, and only while someone watches.
 */
export function callSpan(name: string, thread: number, owner: string | null, callId: number, o: CallOutcome, argBytes: number): SpanTuple | undefined {
  if (o.startedAt === undefined) return undefined;
  return ["call", name, thread, o.startedAt, o.execMicros, o.ok, owner, callId, o.ok ? null : errorLine(o.segments), argBytes];
}

function errorLine(segments: Uint8Array[]): string {
  try {
    const e = decodeError(segments) as Error & { code?: unknown };
    return `${typeof e.code === "string" ? e.code : e.name}: ${e.message}`.slice(0, 500);
  } catch {
    return "(undecodable error)";
  }
}

/** Bytes of a call's encoded arguments. */
export const bytesOf = (segments: readonly Uint8Array[]): number => {
  let n = 0;
  for (const s of segments) n += s.byteLength;
  return n;
};
