/** How long to wait between attempts to reach a peer that is not answering. */
export interface BackoffOptions {
  /** Wait before the first attempt, in ms (default 100); doubled after each failed one. */
  initialDelayMs?: number;
  /** Longest wait between two attempts, in ms (default 5000). */
  maxDelayMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialDelayMs: 100, maxDelayMs: 5000 };

/**
 * Exponential backoff with jitter, for redialling a head or a runner. The jitter (±20%)
 * keeps many peers that lost the same one (a head restarting under 1,000 runners) from
 * dialling it in step.
 */
export class Backoff {
  private delay: number;
  private readonly opts: Required<BackoffOptions>;

  constructor(opts: BackoffOptions = {}) {
    this.opts = { ...DEFAULT_BACKOFF, ...opts };
    const { initialDelayMs, maxDelayMs } = this.opts;
    if (!(initialDelayMs > 0 && maxDelayMs >= initialDelayMs)) {
      throw new TypeError(`backoff: want 0 < initialDelayMs <= maxDelayMs, got ${initialDelayMs} and ${maxDelayMs}`);
    }
    this.delay = initialDelayMs;
  }

  /** The wait before the next attempt; the one after it is twice as long, up to the bound. */
  next(): number {
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs);
    return d * (0.8 + 0.4 * Math.random());
  }

  /** An attempt succeeded: the next loss starts from the first delay again. */
  reset(): void {
    this.delay = this.opts.initialDelayMs;
  }
}
