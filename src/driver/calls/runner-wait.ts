import { NoRunnersError } from "../../errors.ts";

/** Something waiting for a usable runner: a call, a goroutine, a put or an SPMD job. */
export interface Waiter {
  /** What waits, as its error names it: the function called, `put`, `spmd`... */
  readonly operation: string;
  /** performance.now() past which it fails with NoRunnersError. */
  readonly deadline: number;
  /** Told once: undefined when a runner came (go on), else the error to fail with. */
  readonly stop: (err: Error | undefined) => void;
  done: boolean;
}

/**
 * The clocks of what waits for a runner (`waitForRunners`): each waiter has its own
 * deadline, `ms` after it began to wait, and fails with NoRunnersError there unless a
 * runner comes first. Every waiter gets the same `ms` and they start in time order, so
 * deadlines only grow: one timer, for the oldest, serves them all.
 *
 * The timer is not unref'd. A pending promise does not keep Node running, and the runners'
 * reconnect timers are unref'd: with an unref'd timer here, a program awaiting a call that
 * waits for a runner would exit silently in the middle of its `await`, instead of getting
 * its NoRunnersError. A timer exists only while something waits, for at most `ms`.
 */
export class RunnerWait {
  private waiters: Waiter[] = [];
  private head = 0;
  private live = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly ms: number) {}

  /** Waiters not yet stopped. */
  get size(): number {
    return this.live;
  }

  /** Starts a clock; `stop` hears how the wait ends. */
  start(operation: string, stop: (err: Error | undefined) => void): Waiter {
    const w: Waiter = { operation, deadline: performance.now() + this.ms, stop, done: false };
    this.waiters.push(w);
    this.live++;
    if (this.timer === undefined) this.arm();
    return w;
  }

  /** The waiter does not wait any more (withdrawn, or sent): nothing is told. */
  cancel(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    if (--this.live === 0) this.reset();
  }

  /** A runner came: every waiter goes on, oldest first. */
  end(): void {
    this.stopAll(() => undefined);
  }

  /** Every waiter fails at once with the error made for it (the cluster closed). */
  fail(error: (operation: string) => Error): void {
    this.stopAll((w) => error(w.operation));
  }

  private stopAll(outcome: (w: Waiter) => Error | undefined): void {
    const ws = this.waiters.slice(this.head).filter((w) => !w.done);
    this.reset();
    for (const w of ws) w.done = true;
    for (const w of ws) w.stop(outcome(w));
  }

  private reset(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiters = [];
    this.head = 0;
    this.live = 0;
  }

  private arm(): void {
    while (this.waiters[this.head]?.done === true) this.head++;
    const first = this.waiters[this.head];
    if (first === undefined) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.deadline - performance.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    const expired: Waiter[] = [];
    for (; this.head < this.waiters.length; this.head++) {
      const w = this.waiters[this.head]!;
      if (w.done) continue;
      if (w.deadline > now) break;
      w.done = true;
      this.live--;
      expired.push(w);
    }
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    if (this.live === 0) this.reset();
    else this.arm();
    for (const w of expired) w.stop(new NoRunnersError(w.operation, this.ms));
  }
}
