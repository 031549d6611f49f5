import type { CallOptions as CallBounds } from "../../protocol/call-options.ts";

/** Bounds on a remote call, and how often it may be sent again if its runner is lost. */
export interface CallOptions extends CallBounds {
  /**
   * Times the call is sent again, to another runner, when the runner running it is lost
   * (default: the cluster's, 3). 0 for work that must not run twice. Application errors,
   * timeouts and cancellation are never retried.
   */
  retries?: number;
}

/**
 * Times a call is sent again after its runner was lost, unless it or its cluster says
 * otherwise: Ray's default for tasks. One lost runner costs one retry; three cover a
 * runner, its replacement and one more failing during a rolling restart.
 */
export const DEFAULT_RETRIES = 3;

/** Throws unless `retries` is a valid number of retries. */
export function checkRetries(retries: number | undefined, where: string): void {
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    throw new TypeError(`${where}: retries must be a non-negative integer, got ${String(retries)}`);
  }
}
