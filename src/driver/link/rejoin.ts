import type { Logger } from "pino";
import { AuthError } from "../../errors.ts";

/** How a cluster tries again a runner it lost (ClusterOptions.reconnect). */
export interface ReconnectOptions {
  /** Wait before the first attempt, in ms (default 100); doubled after each failed one. */
  initialDelayMs?: number;
  /** Longest wait between two attempts, in ms (default 5000). */
  maxDelayMs?: number;
}

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = { initialDelayMs: 100, maxDelayMs: 5000 };

export interface RejoinHost<L> {
  /** A whole connection attempt (dial, TLS, handshake), bounded by their own timeouts. */
  open(address: string): Promise<L>;
  /** The runner answers again: `link` is new and live. */
  joined(address: string, link: L): void;
  log: Logger;
}

/**
 * Keeps dialling the addresses of lost runners, with exponential backoff, until they
 * answer or the cluster closes: a runner restarted on its address, or one behind a link
 * that came back, rejoins the cluster (as a Ray node rejoins its head). Work lost with the
 * runner is not held for it: the retry policy has already sent it elsewhere or failed it.
 * A refused handshake (wrong token, TLS) ends the attempts: asking again would not help.
 */
export class Rejoin<L> {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Set<Promise<void>>();
  private stopped = false;
  private readonly opts: Required<ReconnectOptions>;

  constructor(private readonly host: RejoinHost<L>, opts: ReconnectOptions = {}) {
    this.opts = { ...DEFAULT_RECONNECT, ...opts };
    const { initialDelayMs, maxDelayMs } = this.opts;
    if (!(initialDelayMs > 0 && maxDelayMs >= initialDelayMs)) {
      throw new TypeError(`reconnect: want 0 < initialDelayMs <= maxDelayMs, got ${initialDelayMs} and ${maxDelayMs}`);
    }
  }

  /** Starts trying `address` again, unless it is being tried already. */
  watch(address: string): void {
    if (this.stopped || this.timers.has(address)) return;
    this.schedule(address, this.opts.initialDelayMs, 1);
  }

  /** Stops trying `address` (its runner left for good). */
  forget(address: string): void {
    const t = this.timers.get(address);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(address);
  }

  /** Addresses being tried. */
  get pending(): string[] {
    return [...this.timers.keys()];
  }

  private schedule(address: string, delayMs: number, attempt: number): void {
    // Jitter keeps many drivers that lost the same runner from dialling it in step.
    const wait = delayMs * (0.8 + 0.4 * Math.random());
    const timer = setTimeout(() => {
      const p = this.attempt(address, delayMs, attempt).finally(() => this.attempts.delete(p));
      this.attempts.add(p);
    }, wait);
    // Waiting for a runner must not keep a finished program alive.
    timer.unref();
    this.timers.set(address, timer);
  }

  private async attempt(address: string, delayMs: number, attempt: number): Promise<void> {
    let link: L;
    try {
      link = await this.host.open(address);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof AuthError) {
        this.timers.delete(address);
        this.host.log.error({ runner: address, err: err.message }, "runner refused this driver: not reconnecting");
        return;
      }
      this.host.log.debug({ runner: address, attempt, err: (err as Error).message }, "runner not back yet");
      this.schedule(address, Math.min(delayMs * 2, this.opts.maxDelayMs), attempt + 1);
      return;
    }
    this.timers.delete(address);
    // After stop() the cluster is closing: joined() closes the link instead of using it.
    this.host.joined(address, link);
  }

  /** No more attempts; waits for those under way to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.attempts]);
  }
}
