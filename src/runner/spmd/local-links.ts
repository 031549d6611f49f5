import { BroadcastChannel } from "node:worker_threads";
import { decodeValue } from "../../protocol/codec.ts";
import type { Envelope } from "./mailbox.ts";

// Ranks on other threads of the same runner process exchange through memory: a
// BroadcastChannel per rank; big values cross in shared memory (one copy, no socket).

interface Posting {
  context: string;
  source: number;
  tag: number;
  segments: Uint8Array[];
}

const SHARE_MIN = 64 * 1024;

function shared(s: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(s.byteLength));
  copy.set(s);
  return copy;
}

const channelName = (job: string, rank: number): string => `strand.spmd.${job}.${rank}`;

export class LocalLinks {
  private readonly inbox: BroadcastChannel;
  private readonly outboxes = new Map<number, BroadcastChannel>();

  constructor(private readonly job: string, private readonly rank: number, deliver: (m: Envelope) => void) {
    this.inbox = new BroadcastChannel(channelName(job, rank));
    this.inbox.unref();
    this.inbox.onmessage = (ev: unknown): void => {
      const p = (ev as { data: Posting }).data;
      const [body, ...attachments] = p.segments;
      deliver({ context: p.context, source: p.source, tag: p.tag, value: decodeValue(body!, attachments), bytes: p.segments.reduce((n, x) => n + x.byteLength, 0) });
    };
  }

  /** Copies the segments now (the clone), so the sender may reuse its memory at once. */
  send(dest: number, context: string, tag: number, segments: Uint8Array[]): void {
    let out = this.outboxes.get(dest);
    if (out === undefined) {
      out = new BroadcastChannel(channelName(this.job, dest));
      out.unref();
      this.outboxes.set(dest, out);
    }
    // Big segments: one copy into shared memory, which the clone then shares instead of
    // copying twice (serialize, deserialize). Small ones: the clone's copy is cheaper.
    const owned = segments.map((s) => (s.byteLength >= SHARE_MIN || s.buffer instanceof SharedArrayBuffer ? shared(s) : s));
    out.postMessage({ context, source: this.rank, tag, segments: owned } satisfies Posting);
  }

  close(): void {
    this.inbox.close();
    for (const o of this.outboxes.values()) o.close();
    this.outboxes.clear();
  }
}
