import { ProtocolError, SerializationError } from "../errors.ts";
import { encodeSegments } from "../protocol/codec.ts";
import { sentFrameOf, T } from "../protocol/messages.ts";
import { frameSize } from "../transport/frames.ts";
import type { CallOutcome } from "./task.ts";

export function errorOutcome(id: number, err: Error): CallOutcome {
  return { id, ok: false, segments: encodeSegments(err, "error"), execMicros: 0 };
}

/** The answer to a call that arrives while the runner is stopping: it never starts. */
export function stoppingOutcome(id: number): CallOutcome {
  return { ...errorOutcome(id, new ProtocolError("runner is stopping")), notStarted: true };
}

/**
 * The Result frame for an outcome, answered under the driver's call id. A result too big
 * for a frame becomes a SerializationError: the driver would otherwise drop the connection.
 * For Connection.send at once (sentFrameOf): nothing may be packed in between.
 */
export function resultFrame(callId: number, o: CallOutcome, maxFrame: number): Uint8Array[] {
  const size = frameSize(o.segments) + 64; // + a Result header's few dozen bytes
  if (size > maxFrame) {
    o = errorOutcome(o.id, new SerializationError("result", `is ${size} bytes encoded, over the ${maxFrame}-byte frame limit`));
  }
  const header: [T.Result, number, boolean, number, boolean?, boolean?] = [T.Result, callId, o.ok, o.execMicros];
  if (o.inline === true || o.notStarted === true) header.push(o.inline === true);
  if (o.notStarted === true) header.push(true);
  return sentFrameOf(header, { body: o.segments[0]!, attachments: o.segments.slice(1) });
}
