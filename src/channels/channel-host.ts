import { CancelledError, ProtocolError, SerializationError } from "../errors.ts";
import { Chan, type ChanOps, type RecvResult, type Selected, type SelectOptions, type WireCase } from "../protocol/chan.ts";
import { decodeSegments, decodeValue, encodeValue } from "../protocol/codec.ts";
import type { ChanRequest } from "../protocol/messages.ts";
import { ChannelHome, type ChanPeer, type ChannelStats, type HomeCase, type Outcome, type Value } from "./channel-home.ts";

/** Send credits granted at a time: how far a runner's sender may run ahead of its round trips. */
const CREDITS_PER_GRANT = 32;

/**
 * The channels one process made (a driver, or a runner thread): their home (state and Go
 * semantics, channel-home.ts), this process's own use of them (no socket), and the
 * operations peers send it (runners relaying for their threads, or clients connected to a
 * thread's lane). Every channel's id is `<prefix>.c<n>` (protocol/chan-id.ts).
 */
export class ChannelHost {
  private readonly home: ChannelHome;
  private readonly handles = new Map<string, WeakRef<Chan<unknown>>>();
  private next = 0;
  /** Operations runners are waiting on, per runner: withdrawn if it goes. */
  private readonly pending = new Map<ChanPeer, Map<number, () => void>>();
  /** Channels each runner has used or been given: they break if it dies holding them. */
  private readonly usedBy = new Map<ChanPeer, Set<string>>();

  /**
   * Who each channel belongs to (a runner thread's: the drivers whose calls could have made
   * it): when the last of them goes, it breaks, so nobody waits on it for ever.
   */
  private readonly owners = new Map<string, Set<string>>();

  constructor(readonly prefix: string) {
    this.home = new ChannelHome(`${prefix}.c`);
    this.home.onRetired((id) => {
      this.handles.delete(id);
      this.owners.delete(id);
      for (const used of this.usedBy.values()) used.delete(id);
    });
  }

  create<T>(capacity: number, owners?: Iterable<string>): Chan<T> {
    const id = `${this.prefix}.c${this.next + 1}`;
    this.home.create(id, capacity); // throws on a bad capacity: no number used
    this.next++;
    if (owners !== undefined) this.owners.set(id, new Set(owners));
    return this.handle(id, capacity) as Chan<T>;
  }

  /** Channels made while no owner was known (no driver had said who it is yet) are `owner`'s. */
  adopt(owner: string): void {
    for (const set of this.owners.values()) if (set.size === 0) set.add(owner);
  }

  /** Owner `owner` is gone: the channels it alone still owned break. */
  ownerLost(owner: string, reason: string): void {
    for (const [id, set] of this.owners) {
      if (!set.delete(owner) || set.size > 0) continue;
      this.owners.delete(id);
      this.home.break(id, reason);
    }
  }

  handle(id: string, capacity: number): Chan<unknown> {
    let h = this.handles.get(id)?.deref();
    if (h === undefined) this.handles.set(id, new WeakRef((h = new Chan(id, capacity, this.local))));
    return h;
  }

  /** A runner was given these channels (in a call's arguments). */
  given(peer: ChanPeer, chans: readonly Chan<unknown>[]): void {
    let used = this.usedBy.get(peer);
    if (used === undefined) this.usedBy.set(peer, (used = new Set()));
    for (const c of chans) if (this.home.has(c.id)) used.add(c.id);
  }

  /** An operation relayed by a runner for one of its threads. */
  remote(peer: ChanPeer, opId: number, req: ChanRequest, encoded: Uint8Array[][], pointers: readonly number[]): void {
    const values: Value[] = encoded.map((segs, i) => {
      if (!pointers.includes(i)) return { segs };
      const objectId = decodeValue(segs[0]!);
      if (typeof objectId !== "string") throw new ProtocolError("malformed channel value pointer");
      return { segs: [], at: { peer, objectId } };
    });
    let ops = this.pending.get(peer);
    if (ops === undefined) this.pending.set(peer, (ops = new Map()));
    const waiting = ops;
    let finished = false;
    const done = (o: Outcome): void => {
      finished = true;
      waiting.delete(opId);
      peer.reply(opId, o);
    };
    if (req.op === "csend") {
      // A value sent against a credit: no answer (the sender did not wait).
      const v = values[0];
      if (v === undefined) throw new ProtocolError("credited send without a value");
      this.usedBy.get(peer)?.add(req.chan);
      this.home.credited(req.chan, peer, v);
      return;
    }
    if (req.op === "len") {
      try {
        return done({ index: this.home.length(req.chan) });
      } catch (err) {
        return done(err as Error);
      }
    }
    if (req.op === "close") {
      try {
        this.home.close(req.chan);
        return done({ index: 0 });
      } catch (err) {
        return done(err as Error);
      }
    }
    let cases: HomeCase[];
    let dflt = false;
    let timeout: number | undefined;
    let k = 0;
    const caseOf = (c: { op: "send" | "recv"; chan: string }): HomeCase => {
      if (c.op === "recv") return { op: "recv", chan: c.chan };
      const v = values[k++];
      if (v === undefined) throw new ProtocolError("send case without a value");
      return { op: "send", chan: c.chan, value: v };
    };
    if (req.op === "select") {
      cases = req.cases.map(caseOf);
      dflt = req.default === true;
      timeout = typeof req.timeout === "number" ? req.timeout : undefined;
    } else {
      cases = [caseOf(req)];
    }
    const used = this.usedBy.get(peer) ?? new Set<string>();
    this.usedBy.set(peer, used);
    for (const c of cases) used.add(c.chan);
    // A lone send that went through may earn credits for the next ones (buffered channels).
    const send = req.op === "send" ? req.chan : undefined;
    const answer = send === undefined ? done : (o: Outcome): void => {
      if (o instanceof Error) return done(o);
      const credits = this.home.grant(send, peer, CREDITS_PER_GRANT);
      done(credits > 0 ? { ...o, credits } : o);
    };
    const withdraw = this.home.run(cases, dflt, timeout, answer);
    if (!finished) waiting.set(opId, withdraw);
  }

  /** A thread gave back credits it had not used (after a revoke). */
  returned(peer: ChanPeer, chan: string, n: number): void {
    this.home.returned(chan, peer, n);
  }

  cancel(peer: ChanPeer, opId: number): void {
    const ops = this.pending.get(peer);
    const withdraw = ops?.get(opId);
    ops?.delete(opId);
    withdraw?.();
  }

  /** A runner died or left: its waiting operations go, and channels it held break. */
  peerLost(peer: ChanPeer, reason: string): void {
    const ops = this.pending.get(peer);
    this.pending.delete(peer);
    for (const withdraw of ops?.values() ?? []) withdraw();
    const used = this.usedBy.get(peer);
    this.usedBy.delete(peer);
    for (const id of used ?? []) this.home.break(id, `${peer.address}, which held it, was lost: ${reason}`);
  }

  stats(): ChannelStats[] {
    return this.home.stats();
  }

  /** The process is done with them (its cluster closing): every channel breaks. */
  closeAll(reason: string): void {
    for (const s of this.home.stats()) this.home.break(s.id, reason);
  }

  /** The driver's own use of its channels: straight to the home, values encoded as for the wire. */
  private readonly local: ChanOps = {
    send: (chan, value, signal) => this.runLocal([{ op: "send", chan, value }], { signal }).then(() => undefined),
    recv: (chan, signal) => this.runLocal([{ op: "recv", chan }], { signal }).then(
      (s): RecvResult<unknown> => (s.done === true ? { value: undefined, done: true } : { value: s.value, done: false }),
    ),
    close: async (chan) => this.home.close(chan),
    len: async (chan) => this.home.length(chan),
    select: (cases, options) => this.runLocal(cases, options),
  };

  private runLocal(cases: WireCase[], options: SelectOptions): Promise<Selected> {
    let home: HomeCase[];
    try {
      home = cases.map((c, i) => (c.op === "recv" ? c : { op: "send", chan: c.chan, value: encodeOne(c.value, cases.length === 1 ? "value" : `cases[${i}].value`) }));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new CancelledError("channel operation cancelled", { cause: signal.reason }));
    return new Promise<Selected>((resolve, reject) => {
      let finished = false;
      const onAbort = (): void => {
        withdraw();
        reject(new CancelledError("channel operation cancelled", { cause: signal?.reason }));
      };
      const withdraw = this.home.run(home, options.default === true, options.timeout, (o) => {
        finished = true;
        signal?.removeEventListener("abort", onAbort);
        if (o instanceof Error) return reject(o);
        if (o.value === undefined) return resolve({ index: o.index, ...(o.done ? { done: true } : {}) });
        const { segs, at } = o.value;
        if (at === undefined) return resolve({ index: o.index, value: decodeSegments(segs) });
        // A big value a runner kept: take it from there (the home only held its address).
        at.peer.take(at.objectId).then((s) => resolve({ index: o.index, value: decodeSegments(s) }), reject);
      });
      // Listen only while it waits: an operation that ran at once must leave nothing behind.
      if (!finished) signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** A value sent on a channel: validated and encoded here, like a call argument (a copy, as in Go). */
function encodeOne(value: unknown, path: string): Value {
  const e = encodeValue(value, path);
  if (e.refs !== undefined) throw new SerializationError(path, "holds a Ref: pass objects to calls, not over channels");
  return { segs: [e.body, ...e.attachments] };
}
