import { ANY } from "../../comm.ts";

// MPI's matching engine for one rank: a message goes to the first posted receive that
// matches it (context, source, tag), or waits in the unexpected queue for one. Both
// queues keep arrival/post order, which is what makes per-pair, per-tag order hold.

/** A message as it arrived: `source` is the sender's rank in the job. */
export interface Envelope {
  context: string;
  source: number;
  tag: number;
  value: unknown;
}

interface Posted {
  source: number;
  tag: number;
  resolve: (m: Envelope) => void;
  reject: (e: Error) => void;
}

const matches = (p: { source: number; tag: number }, m: Envelope): boolean =>
  (p.source === ANY || p.source === m.source) && (p.tag === ANY || p.tag === m.tag);

export class Mailbox {
  private readonly unexpected = new Map<string, Envelope[]>();
  private readonly posted = new Map<string, Posted[]>();
  /** Set once the job is aborted: every receive fails with it. */
  private failure: Error | undefined;
  /** Senders that can no longer send (their connection broke), and why. */
  private readonly lost = new Map<number, Error>();

  deliver(m: Envelope): void {
    const waiting = this.posted.get(m.context);
    if (waiting !== undefined) {
      const i = waiting.findIndex((p) => matches(p, m));
      if (i >= 0) {
        const [p] = waiting.splice(i, 1);
        if (waiting.length === 0) this.posted.delete(m.context);
        p!.resolve(m);
        return;
      }
    }
    let queue = this.unexpected.get(m.context);
    if (queue === undefined) this.unexpected.set(m.context, (queue = []));
    queue.push(m);
  }

  receive(context: string, source: number, tag: number): Promise<Envelope> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const queue = this.unexpected.get(context);
    if (queue !== undefined) {
      const i = queue.findIndex((m) => matches({ source, tag }, m));
      if (i >= 0) {
        const m = i === 0 ? queue.shift()! : queue.splice(i, 1)[0]!;
        if (queue.length === 0) this.unexpected.delete(context);
        return Promise.resolve(m);
      }
    }
    const gone = source === ANY ? this.lost.values().next().value : this.lost.get(source);
    if (gone !== undefined) return Promise.reject(gone);
    return new Promise((resolve, reject) => {
      let waiting = this.posted.get(context);
      if (waiting === undefined) this.posted.set(context, (waiting = []));
      waiting.push({ source, tag, resolve, reject });
    });
  }

  /** No message will ever come from `source`: receives that wait on it fail. */
  senderLost(source: number, err: Error): void {
    if (this.lost.has(source)) return;
    this.lost.set(source, err);
    for (const [context, waiting] of this.posted) {
      const keep = waiting.filter((p) => {
        if (p.source !== source && p.source !== ANY) return true;
        p.reject(err);
        return false;
      });
      if (keep.length === 0) this.posted.delete(context);
      else this.posted.set(context, keep);
    }
  }

  /** The job is over (aborted): every waiting and future receive fails with `err`. */
  fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const waiting of this.posted.values()) for (const p of waiting) p.reject(err);
    this.posted.clear();
    this.unexpected.clear();
  }
}
