import { BroadcastChannel } from "node:worker_threads";
import { decodeValue } from "../../protocol/codec.ts";
import type { Envelope } from "./mailbox.ts";

// Ranks in the same runner process (any of its threads) exchange through memory: a
// BroadcastChannel per rank, whose messages are structured clones (one copy, no socket).

interface Posting {
  context: string;
  source: number;
  tag: number;
  segments: Uint8Array[];
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
      deliver({ context: p.context, source: p.source, tag: p.tag, value: decodeValue(body!, attachments) });
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
    // A view of shared memory would be shared, not copied, by the clone.
    const owned = segments.map((s) => (s.buffer instanceof SharedArrayBuffer ? s.slice() : s));
    out.postMessage({ context, source: this.rank, tag, segments: owned } satisfies Posting);
  }

  close(): void {
    this.inbox.close();
    for (const o of this.outboxes.values()) o.close();
    this.outboxes.clear();
  }
}
