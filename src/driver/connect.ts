import type { HeartbeatOptions } from "../protocol/heartbeat.ts";
import { Cluster } from "./cluster.ts";
import { checkRetries } from "./retry-policy.ts";
import { startLocalRunners, type LocalRunnersOptions } from "./local.ts";

export interface ConnectOptions {
  /** host:port of each runner; default STRAND_RUNNERS (comma-separated). */
  runners?: readonly string[];
  /** Shared token; default STRAND_TOKEN. */
  token?: string;
  heartbeat?: HeartbeatOptions;
  /** Times a call is sent again, to another runner, when its runner is lost (default 3; 0: never). */
  retries?: number;
}

export type LocalOptions = LocalRunnersOptions & {
  heartbeat?: HeartbeatOptions;
  /** Times a call is sent again, to another runner, when its runner is lost (default 3; 0: never). */
  retries?: number;
};

/** Starts runner processes on this machine and connects to them; `close()` stops them. */
export async function local(options: LocalOptions = {}): Promise<Cluster> {
  checkRetries(options.retries, "local()");
  const r = await startLocalRunners(options);
  return Cluster.create({ runners: r.addresses, token: r.token, heartbeat: options.heartbeat, retries: options.retries, onClose: r.stop });
}

/**
 * Connects to running runners. With no addresses given and STRAND_RUNNERS unset, starts
 * a local cluster instead (like ray.init()).
 */
export async function connect(options: ConnectOptions = {}): Promise<Cluster> {
  const env = process.env.STRAND_RUNNERS?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const runners = options.runners ?? env ?? [];
  const token = options.token ?? (process.env.STRAND_TOKEN || undefined);
  if (runners.length === 0) return local({ ...(token !== undefined ? { token } : {}), heartbeat: options.heartbeat, retries: options.retries });
  return Cluster.create({ runners, token, heartbeat: options.heartbeat, retries: options.retries });
}
