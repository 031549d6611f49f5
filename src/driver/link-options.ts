import type { HeartbeatOptions } from "../protocol/heartbeat.ts";
import type { ReconnectOptions } from "./link/rejoin.ts";
import type { LogsOption } from "./remote-logs.ts";

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
  /**
   * What remote functions print (console.*, process.stdout/stderr): true (the default) prints
   * it on this process's stdout/stderr, each line prefixed `(fn runner=host:port pid=N)`;
   * false leaves it on the runners; a function takes each line instead (RemoteLogLine).
   * Unset, STRAND_REMOTE_LOGS=0 turns it off (`strand run --no-remote-logs`).
   */
  logs?: LogsOption;
  /**
   * How long, in ms, a call (or put, broadcast, spmd) waits for a runner when no runner
   * is usable (none connected, all lost or stopping), before failing with NoRunnersError
   * (default 60_000). A runner that joins or comes back ends the wait at once. 0 fails at
   * once instead, with RunnerLostError. Calls waiting for room in busy runners' windows
   * are not bounded by it.
   */
  waitForRunners?: number;
}

/** Calls wait this long for a runner by default: a rolling restart or a scale-up from zero fits in it. */
export const DEFAULT_WAIT_FOR_RUNNERS = 60_000;

/** Throws unless `ms` is a valid waitForRunners. */
export function checkWaitForRunners(ms: number | undefined, where: string): void {
  if (ms !== undefined && !(typeof ms === "number" && Number.isFinite(ms) && ms >= 0)) {
    throw new TypeError(`${where}: waitForRunners must be a non-negative finite number of ms, got ${String(ms)}`);
  }
}

/** Just the link options of a bigger options object, to hand on to the cluster. */
export function linkOptions({ heartbeat, retries, reconnect, logs, waitForRunners }: LinkOptions): LinkOptions {
  return { heartbeat, retries, reconnect, logs, waitForRunners };
}
