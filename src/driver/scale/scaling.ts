import type { Logger } from "pino";
import { adaptSettings, type AdaptOptions } from "./adapt.ts";
import { Adaptive } from "./adaptive.ts";
import type { LoadSource, Scaler } from "./scaler.ts";

/**
 * A cluster's `scale()` and `adapt()`: the one that was called last decides, as in
 * dask-jobqueue (scale(n) stops adapting; adapt() replaces an earlier adapt()).
 */
export class Scaling {
  private adaptive: Adaptive | undefined;

  constructor(private readonly scaler: Scaler, private readonly source: LoadSource, private readonly log: Logger) {}

  scale(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 0) return Promise.reject(new TypeError(`scale(): wants a whole number of runner jobs >= 0, got ${n}`));
    this.stopAdapting();
    return this.scaler.scale(n);
  }

  adapt(options: AdaptOptions): void {
    const settings = adaptSettings(options);
    this.stopAdapting();
    this.adaptive = new Adaptive(this.scaler, this.source, settings, (err) => this.log.error({ err: err.message }, "adapt(): could not scale"));
  }

  /** The cluster closes: no more rounds (its scaler cancels the jobs). */
  stop(): void {
    this.stopAdapting();
  }

  private stopAdapting(): void {
    this.adaptive?.stop();
    this.adaptive = undefined;
  }
}
