import { ChannelHome, type HomeCase, type Outcome, type Value } from "../../src/channels/channel-home.ts";

/** A one-byte value: enough to tell values apart. */
export function value(n: number): Value {
  return { segs: [Uint8Array.of(n)] };
}

export const recv = (chan: string): HomeCase => ({ op: "recv", chan });
export const send = (chan: string, n: number): HomeCase => ({ op: "send", chan, value: value(n) });

/** An operation on the home as a test watches it: pending until it finishes. */
export class Op {
  outcome: Outcome | undefined;
  withdraw: () => void = () => {};

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** The case that ran (-1: the default); throws if the operation failed or waits. */
  get index(): number {
    return this.ok.index;
  }

  /** What a receive got: its byte, or "done" for a closed channel. */
  get received(): number | "done" | undefined {
    const o = this.ok;
    return o.done === true ? "done" : o.value?.segs[0]?.[0];
  }

  get error(): Error | undefined {
    return this.outcome instanceof Error ? this.outcome : undefined;
  }

  private get ok(): Exclude<Outcome, Error> {
    if (this.outcome === undefined) throw new Error("the operation is still waiting");
    if (this.outcome instanceof Error) throw this.outcome;
    return this.outcome;
  }
}

/** A driver's channel home, with ids as a driver makes them and operations as tests run them. */
export class Home {
  readonly home = new ChannelHome("d.c");
  private next = 0;

  chan(capacity = 0): string {
    const id = `d.c${++this.next}`;
    this.home.create(id, capacity);
    return id;
  }

  /** A select over `cases` (a lone send or receive is a select of one). */
  select(cases: HomeCase[], options: { dflt?: boolean; timeoutMs?: number } = {}): Op {
    const op = new Op();
    op.withdraw = this.home.run(cases, options.dflt ?? false, options.timeoutMs, (o) => (op.outcome = o));
    return op;
  }

  send(chan: string, n: number): Op {
    return this.select([send(chan, n)]);
  }

  recv(chan: string): Op {
    return this.select([recv(chan)]);
  }

  stats(chan: string): ReturnType<ChannelHome["stats"]>[number] | undefined {
    return this.home.stats().find((s) => s.id === chan);
  }
}
