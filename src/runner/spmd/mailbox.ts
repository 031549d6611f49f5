import { ANY } from "../../comm.ts";
import { CancelledError } from "../../errors.ts";

// MPI's matching engine for one rank: a message goes to the first posted receive that
// matches it (context, source, tag), or waits in the unexpected queue for one. Both
// queues keep arrival/post order, which is what makes per-pair, per-tag order hold.
// Probes look at the unexpected queue without taking from it: a message a posted receive
// takes at arrival is never seen by a probe, as in MPI.

/** A message as it arrived: `source` is the sender's rank in the job. */
export interface Envelope {
  context: string;
  source: number;
  tag: number;
  value: unknown;
  /** The size of its encoding (body and attachments). */
  bytes: number;
}

interface Pattern {
  source: number;
  tag: number;
}

const matches = (p: Pattern, m: Envelope): boolean =>
  (p.source === ANY || p.source === m.source) && (p.tag === ANY || p.tag === m.tag);

/**
 * A posted receive. Its state changes at the moment of matching, cancelling or failing, not
 * a microtask later, so MPI_Test right after a match already sees it. Its promise is made
 * only when asked for: a blocking receive from a rank on another thread is usually matched
 * before it returns, and its caller takes `matched` directly (a promise, its two closures and
 * a then() less per message in an 8 B round trip).
 */
export class Receipt {
  /** The message, once one matched. */
  matched: Envelope | undefined;
  failure: Error | undefined;
  cancelled = false;
  private made: Promise<Envelope> | undefined;
  private settle: { resolve: (m: Envelope) => void; reject: (e: Error) => void } | undefined;

  constructor(readonly context: string, readonly source: number, readonly tag: number, private readonly withdraw: (r: Receipt) => boolean) {}

  get promise(): Promise<Envelope> {
    return (this.made ??= new Promise<Envelope>((resolve, reject) => {
      if (this.matched !== undefined) resolve(this.matched);
      else if (this.failure !== undefined) reject(this.failure);
      else if (this.cancelled) reject(cancelledError());
      else this.settle = { resolve, reject };
    }));
  }

  get done(): boolean {
    return this.matched !== undefined || this.failure !== undefined || this.cancelled;
  }

  match(m: Envelope): void {
    this.matched = m;
    this.settle?.resolve(m);
  }

  fail(err: Error): void {
    this.failure = err;
    this.settle?.reject(err);
  }

  /** Withdraws it if nothing matched it yet: its promise rejects with CancelledError. */
  cancel(): boolean {
    if (this.done || !this.withdraw(this)) return false;
    this.cancelled = true;
    this.settle?.reject(cancelledError());
    return true;
  }
}

const cancelledError = (): CancelledError => new CancelledError("the receive was cancelled before a message matched it");

interface Probing extends Pattern {
  resolve: (m: Envelope) => void;
  reject: (e: Error) => void;
}

/** Takes the first entry of `list` that `take` accepts; drops the key when the list empties. */
function takeFirst<K, V>(map: Map<K, V[]>, key: K, take: (v: V) => boolean): V | undefined {
  const list = map.get(key);
  if (list === undefined) return undefined;
  const i = list.findIndex(take);
  if (i < 0) return undefined;
  const v = i === 0 ? list.shift()! : list.splice(i, 1)[0]!;
  if (list.length === 0) map.delete(key);
  return v;
}

function append<K, V>(map: Map<K, V[]>, key: K, v: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [v]);
  else list.push(v);
}

export class Mailbox {
  private readonly unexpected = new Map<string, Envelope[]>();
  private readonly posted = new Map<string, Receipt[]>();
  private readonly probing = new Map<string, Probing[]>();
  /** Set once the job is aborted: every receive fails with it. */
  private failure: Error | undefined;
  /** Senders that can no longer send (their connection broke), and why. */
  private readonly lost = new Map<number, Error>();

  deliver(m: Envelope): void {
    const p = takeFirst(this.posted, m.context, (r) => matches(r, m));
    if (p !== undefined) return p.match(m);
    append(this.unexpected, m.context, m);
    const waiting = this.probing.get(m.context);
    if (waiting === undefined) return;
    // Every probe that matches sees it: a probe takes nothing.
    const keep = waiting.filter((w) => {
      if (!matches(w, m)) return true;
      w.resolve(m);
      return false;
    });
    if (keep.length === 0) this.probing.delete(m.context);
    else this.probing.set(m.context, keep);
  }

  receive(context: string, source: number, tag: number): Promise<Envelope> {
    return this.post(context, source, tag).promise;
  }

  /** Posts a receive: matched at once by a queued message, or when one arrives. */
  post(context: string, source: number, tag: number): Receipt {
    const r = new Receipt(context, source, tag, (x) => this.withdraw(x));
    if (this.failure !== undefined) {
      r.fail(this.failure);
      return r;
    }
    const m = takeFirst(this.unexpected, context, (q) => matches(r, q));
    if (m !== undefined) {
      r.match(m);
      return r;
    }
    const lost = this.lostFor(source);
    if (lost !== undefined) r.fail(lost);
    else append(this.posted, context, r);
    return r;
  }

  /** The first queued message that matches, left in the queue (MPI_Iprobe). */
  peek(context: string, source: number, tag: number): Envelope | undefined {
    if (this.failure !== undefined) throw this.failure;
    const m = this.unexpected.get(context)?.find((q) => matches({ source, tag }, q));
    if (m === undefined) {
      const lost = this.lostFor(source);
      if (lost !== undefined) throw lost;
    }
    return m;
  }

  /** The first queued message that matches, now or once one arrives, left in the queue (MPI_Probe). */
  probe(context: string, source: number, tag: number): Promise<Envelope> {
    try {
      const m = this.peek(context, source, tag);
      if (m !== undefined) return Promise.resolve(m);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => append(this.probing, context, { source, tag, resolve, reject }));
  }

  private lostFor(source: number): Error | undefined {
    return source === ANY ? this.lost.values().next().value : this.lost.get(source);
  }

  private withdraw(r: Receipt): boolean {
    return takeFirst(this.posted, r.context, (x) => x === r) !== undefined;
  }

  /** No message will ever come from `source`: receives and probes that wait on it fail. */
  senderLost(source: number, err: Error): void {
    if (this.lost.has(source)) return;
    this.lost.set(source, err);
    const hit = (p: Pattern): boolean => p.source === source || p.source === ANY;
    for (const [context, waiting] of this.posted) {
      const keep = waiting.filter((r) => !hit(r) || void r.fail(err));
      if (keep.length === 0) this.posted.delete(context);
      else this.posted.set(context, keep);
    }
    for (const [context, waiting] of this.probing) {
      const keep = waiting.filter((w) => !hit(w) || void w.reject(err));
      if (keep.length === 0) this.probing.delete(context);
      else this.probing.set(context, keep);
    }
  }

  /** The job is over (aborted): every waiting and future receive and probe fails with `err`. */
  fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const waiting of this.posted.values()) for (const r of waiting) r.fail(err);
    for (const waiting of this.probing.values()) for (const w of waiting) w.reject(err);
    this.posted.clear();
    this.probing.clear();
    this.unexpected.clear();
  }
}
