import { ChannelBrokenError, ChannelClosedError, TimeoutError } from "../errors.ts";
import { RetiredIds } from "./retired-ids.ts";

/** Where an operation relayed by a runner came from, so its answer can go back there. */
export interface ChanPeer {
  readonly address: string;
  reply(opId: number, outcome: Outcome): void;
  /**
   * Asks the peer to give back the send credits it holds for a channel (answered with
   * `returned`). Peers without it are never given credits.
   */
  revoke?(chan: string): void;
  /** A big channel value this runner keeps for us: fetched, and freed there. */
  take(objectId: string): Promise<Uint8Array[]>;
}

/**
 * A value on its way through a channel: encoded (msgpack body, then attachments), or, for a
 * big value sent from a runner, only where it waits (`at`): the receiver takes it from there.
 */
export interface Value {
  segs: Uint8Array[];
  at?: { peer: ChanPeer; objectId: string };
}

/** A case of a pending operation, as the home holds it. */
export type HomeCase = { op: "recv"; chan: string } | { op: "send"; chan: string; value: Value };

/** How an operation ended: the case that ran (and what a receive got), or an error. */
export type Outcome = { index: number; value?: Value; done?: boolean; credits?: number } | Error;

export interface ChannelStats {
  id: string;
  capacity: number;
  buffered: number;
  waitingSenders: number;
  waitingReceivers: number;
  /** Slots promised to remote senders holding credits. */
  reserved: number;
  closed: boolean;
  broken: boolean;
}

/** One pending operation (a lone send or receive is a select of one case). */
interface Group {
  fired: boolean;
  cases: HomeCase[];
  finish: (o: Outcome) => void;
  timer: NodeJS.Timeout | undefined;
  /** Where it waits: removed from every queue once it fires. */
  entries: { queue: Waiter[]; waiter: Waiter }[];
}

interface Waiter {
  group: Group;
  index: number;
}

class ChannelState {
  readonly buffer: Value[] = [];
  readonly receivers: Waiter[] = [];
  readonly senders: Waiter[] = [];
  closed = false;
  broken: Error | undefined;
  /** Buffer slots promised to senders holding credits (their values are on the way or not yet sent). */
  reserved = 0;
  readonly credits = new Map<ChanPeer, number>();
  constructor(readonly id: string, readonly capacity: number) {}
}

/**
 * The channels this driver made, with Go's semantics: a bounded buffer, queues of blocked
 * senders and receivers (FIFO), close, and select over several cases choosing uniformly
 * among those ready. It holds encoded values only; where an operation came from (this
 * process or a runner) is the caller's business.
 */
export class ChannelHome {
  private readonly chans = new Map<string, ChannelState>();
  /**
   * Channels closed and drained, with nobody waiting: nothing can change them any more, so
   * only their ids are kept (a receive is done, a send or close throws), not their state.
   */
  private readonly retired: RetiredIds;
  private retiredListener: ((id: string) => void) | undefined;

  /** `idPrefix`: what every channel id starts with before its number (`<driver>.c`). */
  constructor(idPrefix: string) {
    this.retired = new RetiredIds(idPrefix);
  }

  onRetired(listener: (id: string) => void): void {
    this.retiredListener = listener;
  }

  /** Drops a channel's state once it can no longer change (see `retired`). */
  private retireIfDone(ch: ChannelState): void {
    if (!ch.closed || ch.broken !== undefined || ch.reserved > 0 || ch.buffer.length > 0 || live(ch.receivers) || live(ch.senders)) return;
    this.chans.delete(ch.id);
    this.retired.add(ch.id);
    this.retiredListener?.(ch.id);
  }

  create(id: string, capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`channel capacity must be a whole number >= 0, got ${capacity}`);
    this.chans.set(id, new ChannelState(id, capacity));
  }

  has(id: string): boolean {
    return this.chans.has(id) || this.retired.has(id);
  }

  /** Values buffered now (Go's `len`); a retired channel holds none. */
  length(id: string): number {
    const ch = this.chans.get(id);
    if (ch === undefined && this.retired.has(id)) return 0;
    if (ch === undefined) throw new ChannelBrokenError(id, "no such channel at its home (a wrong id, or its home restarted)");
    if (ch.broken !== undefined) throw ch.broken;
    return ch.buffer.length;
  }

  /** Each channel's state: buffered values (Go's `len`), blocked senders and receivers. */
  stats(): ChannelStats[] {
    return [...this.chans.values()].map((c) => ({
      id: c.id, capacity: c.capacity, buffered: c.buffer.length,
      waitingSenders: c.senders.filter((w) => !w.group.fired).length,
      waitingReceivers: c.receivers.filter((w) => !w.group.fired).length,
      reserved: c.reserved,
      closed: c.closed, broken: c.broken !== undefined,
    }));
  }

  /**
   * Runs one operation: at once if a case is ready (or `dflt`), otherwise when one becomes
   * ready or `timeoutMs` passes. Returns a function that withdraws it while it waits.
   */
  run(cases: HomeCase[], dflt: boolean, timeoutMs: number | undefined, finish: (o: Outcome) => void): () => void {
    const group: Group = { fired: false, cases, finish, timer: undefined, entries: [] };
    // undefined: closed and drained for good (retired), so ready: a receive is done, a send fails.
    const states: (ChannelState | undefined)[] = [];
    for (const c of cases) {
      const ch = this.chans.get(c.chan);
      if (ch === undefined && this.retired.has(c.chan)) {
        states.push(undefined);
        continue;
      }
      if (ch === undefined) return fail(group, new ChannelBrokenError(c.chan, "no such channel at its home (a wrong id, or its home restarted)"));
      if (ch.broken !== undefined) return fail(group, ch.broken);
      states.push(ch);
    }
    const ready: number[] = [];
    cases.forEach((c, i) => {
      const ch = states[i];
      if (ch === undefined || (c.op === "recv"
        ? ch.buffer.length > 0 || live(ch.senders) || (ch.closed && ch.reserved === 0)
        : ch.closed || live(ch.receivers) || ch.buffer.length + ch.reserved < ch.capacity)) ready.push(i);
    });
    if (ready.length > 0) {
      // Fair among the ready, as Go's select: a retired channel is one ready case among the others.
      const i = ready[Math.floor(Math.random() * ready.length)]!;
      const c = cases[i]!;
      const ch = states[i];
      group.fired = true;
      if (ch === undefined) {
        finish(c.op === "recv" ? { index: i, done: true } : new ChannelClosedError(c.chan, "send on a closed channel"));
        return () => {};
      }
      finish(this.proceed(ch, c, i));
      this.retireIfDone(ch);
      return () => {};
    }
    if (dflt) {
      group.fired = true;
      finish({ index: -1 });
      return () => {};
    }
    cases.forEach((c, i) => {
      const ch = states[i]!; // none is retired: a retired channel's case is always ready
      const queue = c.op === "recv" ? ch.receivers : ch.senders;
      const waiter = { group, index: i };
      queue.push(waiter);
      group.entries.push({ queue, waiter });
      // A blocked sender while slots are promised to others: take the promises back.
      if (c.op === "send" && ch.reserved > 0) this.revokeAll(ch);
    });
    if (timeoutMs !== undefined) {
      group.timer = setTimeout(() => this.fire(group, new TimeoutError("select", timeoutMs)), timeoutMs);
    }
    return () => this.fire(group, undefined);
  }

  /** A case that can proceed now, run. */
  private proceed(ch: ChannelState, c: HomeCase, index: number): Outcome {
    if (c.op === "send") {
      if (ch.closed) return new ChannelClosedError(ch.id, "send on a closed channel");
      const r = take(ch.receivers);
      if (r !== undefined) this.fire(r.group, { index: r.index, value: c.value });
      else ch.buffer.push(c.value);
      return { index };
    }
    if (ch.buffer.length > 0) {
      const value = ch.buffer.shift()!;
      // A blocked sender's value takes the freed slot (in its turn).
      const s = take(ch.senders);
      if (s !== undefined) {
        ch.buffer.push(sendValue(s));
        this.fire(s.group, { index: s.index });
      }
      return { index, value };
    }
    const s = take(ch.senders); // unbuffered: hand over from a waiting sender
    if (s !== undefined) {
      this.fire(s.group, { index: s.index });
      return { index, value: sendValue(s) };
    }
    return { index, done: true }; // closed and drained
  }

  /**
   * Credits for a sender that just sent: up to `max` free slots it may fill later without
   * asking (it sends the values unannounced, in order on its connection). Go's semantics
   * hold: the slots are the buffer's, so no more than `capacity` values are ever in it or on
   * their way. Returns how many were granted.
   */
  grant(id: string, peer: ChanPeer, max: number): number {
    const ch = this.chans.get(id);
    if (ch === undefined || ch.closed || ch.broken !== undefined || peer.revoke === undefined || live(ch.senders)) return 0;
    const n = Math.min(max, ch.capacity - ch.buffer.length - ch.reserved);
    if (n <= 0) return 0;
    ch.reserved += n;
    ch.credits.set(peer, (ch.credits.get(peer) ?? 0) + n);
    return n;
  }

  /** A value sent against a credit: into its promised slot, or straight to a waiting receiver. */
  credited(id: string, peer: ChanPeer, value: Value): void {
    const ch = this.chans.get(id);
    if (ch === undefined || ch.broken !== undefined) return; // broken: every value is lost anyway
    const held = ch.credits.get(peer) ?? 0;
    if (held <= 0) throw new ChannelBrokenError(id, "a value sent without a credit");
    ch.credits.set(peer, held - 1);
    ch.reserved--;
    const r = take(ch.receivers);
    if (r !== undefined) this.fire(r.group, { index: r.index, value });
    else ch.buffer.push(value);
  }

  /** A peer gave back `n` credits it had not used. */
  returned(id: string, peer: ChanPeer, n: number): void {
    const ch = this.chans.get(id);
    if (ch === undefined || ch.broken !== undefined || n <= 0) return;
    const held = ch.credits.get(peer) ?? 0;
    const back = Math.min(n, held);
    ch.credits.set(peer, held - back);
    ch.reserved -= back;
    this.settleFreed(ch);
  }

  /** Slots came free: blocked senders fill them; once closed with nothing left, receivers are done. */
  private settleFreed(ch: ChannelState): void {
    while (ch.buffer.length + ch.reserved < ch.capacity) {
      const s = take(ch.senders);
      if (s === undefined) break;
      ch.buffer.push(sendValue(s));
      this.fire(s.group, { index: s.index });
    }
    if (ch.closed && ch.reserved === 0 && ch.buffer.length === 0) {
      for (let r = take(ch.receivers); r !== undefined; r = take(ch.receivers)) this.fire(r.group, { index: r.index, done: true });
    }
    this.retireIfDone(ch);
  }

  private revokeAll(ch: ChannelState): void {
    for (const [peer, n] of ch.credits) if (n > 0) peer.revoke?.(ch.id);
  }

  close(id: string): void {
    if (this.retired.has(id)) throw new ChannelClosedError(id, "close of a closed channel");
    const ch = this.chans.get(id);
    if (ch === undefined) throw new ChannelBrokenError(id, "no such channel");
    if (ch.broken !== undefined) throw ch.broken;
    if (ch.closed) throw new ChannelClosedError(id, "close of a closed channel");
    ch.closed = true;
    // Values promised to creditors may still come: receivers wait for them (or their return).
    if (ch.reserved > 0) this.revokeAll(ch);
    else for (let r = take(ch.receivers); r !== undefined; r = take(ch.receivers)) this.fire(r.group, { index: r.index, done: true });
    for (let s = take(ch.senders); s !== undefined; s = take(ch.senders)) this.fire(s.group, new ChannelClosedError(id, "send on a closed channel"));
    this.retireIfDone(ch);
  }

  /** Someone using the channel died: every operation on it fails, now and later. */
  break(id: string, reason: string): void {
    const ch = this.chans.get(id);
    if (ch === undefined || ch.broken !== undefined) return;
    ch.broken = new ChannelBrokenError(id, reason);
    for (const q of [ch.receivers, ch.senders]) for (let w = take(q); w !== undefined; w = take(q)) this.fire(w.group, ch.broken);
    ch.buffer.length = 0;
  }

  private fire(group: Group, outcome: Outcome | undefined): void {
    if (group.fired) return;
    group.fired = true;
    if (group.timer !== undefined) clearTimeout(group.timer);
    for (const { queue, waiter } of group.entries) {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
    }
    if (outcome !== undefined) group.finish(outcome);
  }
}

function fail(group: Group, err: Error): () => void {
  group.fired = true;
  group.finish(err);
  return () => {};
}

const live = (q: Waiter[]): boolean => q.some((w) => !w.group.fired);

/** The first waiter still waiting, removed from its queue. */
function take(q: Waiter[]): Waiter | undefined {
  while (q.length > 0) {
    const w = q.shift()!;
    if (!w.group.fired) return w;
  }
  return undefined;
}

function sendValue(w: Waiter): Value {
  return (w.group.cases[w.index] as { value: Value }).value;
}
