import type { Chan } from "../../src/index.ts";
import { track, type Settled } from "./outcomes.ts";

/**
 * The driver's two ends of a relay (fixtures/faults.ts `relay`): sends 0, 1, 2, … into
 * `inp` as fast as the relay takes them, and collects what comes back on `out`, until
 * `stop()`. Progress can be awaited (`reached`), so no test has to sleep for it.
 */
export class PipeStream {
  readonly got: number[] = [];
  /** Values the relay took from `inp` (an unbuffered send completes when it is taken). */
  sent = 0;
  private stopping = false;
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private sender: Promise<Settled<void>> | undefined;
  private receiver: Promise<Settled<void>> | undefined;
  /** Resolves if the return stream fails (never, if it ends well). */
  broken: Promise<void> = new Promise(() => {});

  constructor(private readonly inp: Chan<number>, private readonly out: Chan<number>) {}

  start(): void {
    this.sender = track((async () => {
      while (!this.stopping) {
        await this.inp.send(this.sent);
        this.sent++;
      }
      await this.inp.close();
    })());
    this.receiver = track((async () => {
      for await (const v of this.out) {
        this.got.push(v);
        for (const w of this.waiters.filter((x) => this.got.length >= x.n)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    })());
    this.broken = this.receiver.then((r) => (r.ok ? new Promise<void>(() => {}) : undefined));
  }

  get received(): number {
    return this.got.length;
  }

  /** Resolves once `n` values have come back. */
  reached(n: number): Promise<void> {
    if (this.got.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Stops sending (closing `inp`: the relay then closes `out`) and waits for both ends. */
  async stop(): Promise<{ got: number[]; sent: number; sender: Settled<void>; receiver: Settled<void> }> {
    this.stopping = true;
    const sender = await this.sender!;
    const receiver = await this.receiver!;
    return { got: this.got, sent: this.sent, sender, receiver };
  }
}
