import type { Logger } from "pino";
import type { Goroutine } from "./remote.ts";

export type GoroutineListener = (err: Error, goroutine: Goroutine<unknown>) => void;

/**
 * Calls started with `f.go(...)`: nobody has to await them, so their failures are handed
 * to the cluster's `"error"` listeners, or logged when there are none. Never lost, as Go's
 * would not be.
 */
export class Goroutines {
  private readonly listeners = new Set<GoroutineListener>();

  constructor(private readonly log: Logger) {}

  start(name: string, result: Promise<unknown>): Goroutine<unknown> {
    const g = { function: name, result, error: undefined as Error | undefined, settled: false };
    result.then(
      () => {
        g.settled = true;
      },
      (err: Error) => {
        g.settled = true;
        g.error = err;
        if (this.listeners.size === 0) {
          this.log.warn({ function: name, err: err.message }, "goroutine failed (no \"error\" listener on the cluster)");
        }
        for (const l of this.listeners) l(err, g);
      },
    );
    return g;
  }

  add(listener: GoroutineListener): void {
    this.listeners.add(listener);
  }

  remove(listener: GoroutineListener): void {
    this.listeners.delete(listener);
  }
}
