import { ProtocolError } from "../errors.ts";
import { encodeValue } from "../protocol/codec.ts";
import { frameOf, T, type Message } from "../protocol/messages.ts";
import type { Outcome } from "./channel-home.ts";

/** The values of a ChanOp frame's send cases: `sizes[i]` segments each, after the header. */
export function chanValues(sizes: readonly number[], segs: readonly Uint8Array[]): Uint8Array[][] {
  const values: Uint8Array[][] = [];
  let at = 1;
  for (const n of sizes) {
    if (n < 1 || at + n > segs.length) throw new ProtocolError("malformed channel values");
    values.push(segs.slice(at, (at += n)).map((s) => s.slice())); // kept: own copies, not views of socket reads
  }
  return values;
}

/** The ChanReply frame for a channel operation's outcome, as sent to runner `receiver`. */
export function chanReplyFrame(opId: number, o: Outcome, receiver: string): Uint8Array[] {
  if (o instanceof Error) return frameOf([T.ChanReply, opId, false, -1, false], encodeValue(o, "error"));
  const header: Message<T.ChanReply> = [T.ChanReply, opId, true, o.index, o.done === true];
  if (o.credits !== undefined && o.credits > 0) header.push(null, o.credits);
  if (o.value === undefined) return frameOf(header);
  const { segs, at } = o.value;
  if (at === undefined) return frameOf(header, { body: segs[0]!, attachments: segs.slice(1) });
  // Runner to runner: the receiver takes the value from the sender (or from its own store).
  header.push([at.objectId, at.peer.address === receiver ? null : at.peer.address]);
  return frameOf(header);
}
