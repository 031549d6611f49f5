import { ProtocolError, RunnerLostError } from "../../errors.ts";
import { decodeError, decodeSegments, type Encoded } from "../../protocol/codec.ts";
import { frameOf, T, type Message, type RunnerStats } from "../../protocol/messages.ts";
import { epochMicros } from "../../protocol/activity.ts";
import type { ClockSample } from "../../protocol/handshake.ts";

/** What the requests need of their runner link. */
export interface RequestChannel {
  readonly address: string;
  alive(): boolean;
  /** Ids come from the link's one counter, shared with its calls. */
  nextId(): number;
  send(frame: Uint8Array[]): void;
}

/** The messages that answer a request (checked by the link's readHeader). */
type Answer = Message<T.Stats | T.Done | T.Object>;

interface Waiter {
  resolve: (h: Answer, segs: Uint8Array[]) => void;
  reject: (e: Error) => void;
}

/**
 * A runner link's requests other than calls (object put, pull, fetch and take; stats):
 * each has an id and gets exactly one answer, or RunnerLostError when the link dies.
 */
export class LinkRequests {
  private readonly waiting = new Map<number, Waiter>();

  constructor(private readonly link: RequestChannel) {}

  /** Stores a value on the runner under `objectId`; resolves with its size. */
  put(objectId: string, value: Encoded): Promise<number> {
    return this.request((id) => frameOf([T.Put, id, objectId], value), doneBytes);
  }

  /** Has the runner fetch an object from another runner and keep it. */
  pull(objectId: string, from: string): Promise<number> {
    return this.request((id) => frameOf([T.Pull, id, objectId, from]), doneBytes);
  }

  /** The decoded value of an object held there. */
  async fetch(objectId: string): Promise<unknown> {
    return decodeSegments(await this.fetchSegments(objectId, false));
  }

  /** A big channel value kept by the runner: its encoded segments, freed there once sent. */
  take(objectId: string): Promise<Uint8Array[]> {
    return this.fetchSegments(objectId, true);
  }

  stats(): Promise<RunnerStats> {
    return this.request((id) => frameOf([T.StatsRequest, id]), (h) => {
      if (h[0] !== T.Stats) throw new ProtocolError("stats request answered with the wrong message");
      return h[2];
    });
  }

  /**
   * One round trip that compares clocks (a stats request, whose answer carries the runner's
   * clock): the runner's clock minus the midpoint of ours at send and at answer.
   */
  clockSample(): Promise<ClockSample | undefined> {
    let sent = 0;
    return this.request((id) => {
      sent = epochMicros();
      return frameOf([T.StatsRequest, id]);
    }, (h) => {
      const now = epochMicros();
      if (h[0] !== T.Stats) throw new ProtocolError("stats request answered with the wrong message");
      const theirs = h[3];
      return typeof theirs === "number" ? { offsetMicros: theirs - (sent + now) / 2, rttMicros: now - sent } : undefined;
    });
  }

  /** An answer (Stats, Done, Object) arrived: settles its request. */
  answer(h: Answer, segs: Uint8Array[]): void {
    const id = h[1];
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    w?.resolve(h, segs);
  }

  /** The link died: every request still waiting fails. */
  failAll(reason: string): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new RunnerLostError(this.link.address, reason));
  }

  /** An object's encoded segments; `take`: the runner frees it once sent (a channel value). */
  private fetchSegments(objectId: string, take: boolean): Promise<Uint8Array[]> {
    return this.request((id) => frameOf(take ? [T.Fetch, id, objectId, true] : [T.Fetch, id, objectId]), (h, segs) => {
      if (h[0] !== T.Object) throw new ProtocolError("fetch answered with the wrong message");
      if (h[2]) return segs.slice(1);
      throw decodeError(segs.slice(1));
    });
  }

  private request<R>(frame: (id: number) => Uint8Array[], read: (h: Answer, segs: Uint8Array[]) => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (!this.link.alive()) return reject(new RunnerLostError(this.link.address, "link closed"));
      const id = this.link.nextId();
      this.waiting.set(id, {
        resolve: (h, segs) => {
          try {
            resolve(read(h, segs));
          } catch (err) {
            reject(err as Error);
          }
        },
        reject,
      });
      this.link.send(frame(id));
    });
  }
}

function doneBytes(h: Answer, segs: Uint8Array[]): number {
  if (h[0] !== T.Done) throw new ProtocolError("request answered with the wrong message");
  if (h[2]) return h[3];
  throw decodeError(segs.slice(1));
}
