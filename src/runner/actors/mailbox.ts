/**
 * An actor's mailbox: calls run in the order they arrived, at most `limit` at once. With
 * limit 1 (the default) a call starts only once the one before it has settled, so an
 * async method's awaits never let another call in: the actor's state changes one call at a
 * time, as Ray's and Erlang's do. A higher limit lets async methods interleave (Ray's async
 * actors); order is then the order they start in.
 *
 * Pure: no threads, no sockets (tested in test/unit/actor-mailbox.test.ts).
 */
export class Mailbox {
  private readonly waiting: { run: () => unknown; settle: (v: unknown, err?: unknown, failed?: boolean) => void }[] = [];
  private running = 0;
  private closedWith: Error | undefined;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`maxConcurrency must be an integer >= 1, not ${String(limit)}`);
  }

  /** Calls waiting for their turn. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Calls running now (awaiting, for async ones). */
  get active(): number {
    return this.running;
  }

  /**
   * Runs `run` in its turn. Resolves or rejects with what it returns or throws; a
   * synchronous method that finds the mailbox free runs at once, without a promise: its
   * value is returned, or what it throws is thrown.
   */
  post<T>(run: () => T | Promise<T>, signal?: AbortSignal): Awaited<T> | Promise<Awaited<T>> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    // Its turn is now: no entry, no abort listener, and a synchronous method's value (or
    // throw) goes straight back: a promise and its reactions per call were a third of an
    // actor call's cost on the runner (bench/actors.ts).
    if (this.running < this.limit && this.waiting.length === 0) return this.runNow(run);
    return new Promise<Awaited<T>>((resolve, reject) => {
      const entry = { run, settle: (v: unknown, err?: unknown, failed?: boolean) => (failed === true ? reject(err) : resolve(v as Awaited<T>)) };
      // Its caller gave up before its turn: it leaves the queue, and never runs.
      signal?.addEventListener("abort", () => {
        const i = this.waiting.indexOf(entry);
        if (i < 0) return;
        this.waiting.splice(i, 1);
        entry.settle(undefined, signal.reason, true);
      }, { once: true });
      this.waiting.push(entry);
      this.pump();
    });
  }

  private runNow<T>(run: () => T | Promise<T>): Awaited<T> | Promise<Awaited<T>> {
    this.running++;
    let value: T | Promise<T>;
    try {
      value = run();
    } catch (err) {
      this.running--;
      throw err;
    }
    if (typeof (value as { then?: unknown } | null)?.then !== "function") {
      this.running--;
      return value as Awaited<T>;
    }
    return new Promise<Awaited<T>>((resolve, reject) => {
      (value as Promise<T>).then(
        (v) => this.done(() => resolve(v as Awaited<T>)),
        (err: unknown) => this.done(() => reject(err)),
      );
    });
  }

  /** No more calls: those waiting fail with `err`; those running finish. */
  close(err: Error): void {
    this.closedWith ??= err;
    for (const w of this.waiting.splice(0)) w.settle(undefined, err, true);
  }

  private pump(): void {
    while (this.running < this.limit && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.running++;
      let value: unknown;
      try {
        value = next.run();
      } catch (err) {
        this.running--;
        next.settle(undefined, err, true);
        continue;
      }
      if (typeof (value as { then?: unknown } | null)?.then !== "function") {
        this.running--;
        next.settle(value);
        continue;
      }
      (value as Promise<unknown>).then(
        (v) => this.done(() => next.settle(v)),
        (err: unknown) => this.done(() => next.settle(undefined, err, true)),
      );
    }
  }

  private done(settle: () => void): void {
    this.running--;
    settle();
    this.pump();
  }
}
