import type { HeartbeatOptions } from "../protocol/heartbeat.ts";
import type { ReconnectOptions } from "./link/rejoin.ts";

/**
 * How a cluster notices that it lost a runner and what it does then: the same options
 * for `connect()`, `local()` and `Cluster.create()`.
 */
export interface LinkOptions {
  /**
   * How often the driver sends each runner a heartbeat, and how long a silence means the
   * runner is lost (default: every 250 ms, lost after 1500 ms).
   */
  heartbeat?: HeartbeatOptions;
  /**
   * Default `retries` of every call: times it is sent again, to another runner, when its
   * runner is lost (default 3; 0: never). A call may say otherwise (`f.with({ retries })`).
   */
  retries?: number;
  /**
   * Whether to keep dialling a lost runner's address until it answers again (default true:
   * a runner restarted on its address, or behind a link that came back, rejoins);
   * `{ initialDelayMs, maxDelayMs }` tunes the backoff.
   */
  reconnect?: boolean | ReconnectOptions;
}

/** Just the link options of a bigger options object, to hand on to the cluster. */
export function linkOptions({ heartbeat, retries, reconnect }: LinkOptions): LinkOptions {
  return { heartbeat, retries, reconnect };
}
