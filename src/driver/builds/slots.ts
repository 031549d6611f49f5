import { RunnerLostError } from "../../errors.ts";

// How many commands each runner runs at once: one per thread. Commands wait here, on the
// driver, rather than in a runner's queue, so the most urgent one (a graph's longest path
// first) takes the next free thread, wherever it frees, and goes where its inputs are.

export interface SlotRunner {
  readonly address: string;
  readonly usable: boolean;
  readonly threads: number;
}

interface Waiter<R extends SlotRunner> {
  priority: number;
  seq: number;
  /** Whether it may run there (tools, a runner asked for). */
  fits: (r: R) => boolean;
  /** How much it would rather run there (bytes of its inputs already there). */
  affinity: (r: R) => number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

export class Slots<R extends SlotRunner> {
  private readonly running = new Map<R, number>();
  private waiters: Waiter<R>[] = [];
  private seq = 0;

  constructor(private readonly runners: () => readonly R[]) {}

  /** Commands running on `r` now. */
  busy(r: R): number {
    return this.running.get(r) ?? 0;
  }

  /** A thread on a runner that fits, once one is free; higher `priority` first, then first come. */
  acquire(priority: number, fits: (r: R) => boolean, affinity: (r: R) => number): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ priority, seq: this.seq++, fits, affinity, resolve, reject });
      this.waiters.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      this.pump();
    });
  }

  release(r: R): void {
    const n = this.busy(r) - 1;
    if (n <= 0) this.running.delete(r);
    else this.running.set(r, n);
    this.pump();
  }

  /** Runners changed (one joined or was lost), or a thread freed: hand out what is free. */
  pump(): void {
    if (this.waiters.length === 0) return;
    const usable = this.runners().filter((r) => r.usable);
    const left: Waiter<R>[] = [];
    for (const w of this.waiters) {
      const fitting = usable.filter(w.fits);
      if (fitting.length === 0) {
        w.reject(new RunnerLostError("(none)", "no connected runner can run this command (its tools, or the runner it asked for)"));
        continue;
      }
      let best: R | undefined;
      let bestScore = -Infinity;
      for (const r of fitting) {
        const free = r.threads - this.busy(r);
        if (free <= 0) continue;
        // Inputs already there count most; among equals, the runner with the most free threads.
        const score = w.affinity(r) * 1e3 + free;
        if (score > bestScore) {
          best = r;
          bestScore = score;
        }
      }
      if (best === undefined) {
        left.push(w);
        continue;
      }
      this.running.set(best, this.busy(best) + 1);
      w.resolve(best);
    }
    this.waiters = left;
  }

  /** The cluster closed: nothing waiting will run. */
  fail(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
