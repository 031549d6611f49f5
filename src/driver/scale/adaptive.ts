import { AdaptPolicy, type AdaptSettings } from "./adapt.ts";
import { loadOf, type LoadSource, type Scaler } from "./scaler.ts";

/**
 * adapt() running: every `intervalMs` the policy weighs the cluster's load and the scaler
 * is asked for the count it gives, when that changed. One round at a time: a slow sbatch
 * delays the next round rather than overlapping it.
 */
export class Adaptive {
  private readonly policy: AdaptPolicy;
  private readonly timer: NodeJS.Timeout;
  private running = false;
  private stopped = false;

  constructor(private readonly scaler: Scaler, private readonly source: LoadSource, settings: AdaptSettings, private readonly failed: (err: Error) => void) {
    this.policy = new AdaptPolicy(settings);
    this.timer = setInterval(() => void this.round(), settings.intervalMs);
    this.timer.unref();
    void this.round();
  }

  private async round(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const n = this.policy.next(loadOf(this.source), this.scaler.threadsPerJob, this.scaler.wanted);
      if (n !== this.scaler.wanted) await this.scaler.scale(n);
    } catch (err) {
      this.failed(err as Error);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
