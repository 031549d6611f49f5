import { FrameDecoder } from "../../src/transport/frames.ts";
import { Outbox } from "../../src/transport/outbox.ts";

/** Frames as a peer reads them: written by an outbox, read by a frame decoder, as on a connection. */
export function wire(frames: Uint8Array[][]): Uint8Array[][] {
  const out = new Outbox();
  for (const f of frames) out.push(f);
  const got: Uint8Array[][] = [];
  const d = new FrameDecoder((segs) => got.push(segs));
  for (const part of out.take()) d.push(part.slice());
  return got;
}
