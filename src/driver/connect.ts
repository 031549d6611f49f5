import type { HeartbeatOptions } from "../protocol/heartbeat.ts";
import type { TlsOptions } from "../transport/secure.ts";
import { Cluster } from "./cluster.ts";
import type { ReconnectOptions } from "./link/rejoin.ts";
import { checkRetries } from "./calls/call-options.ts";
import { startLocalRunners, type LocalRunnersOptions } from "./local.ts";
import { tlsFromEnv } from "./tls-env.ts";

export interface ConnectOptions {
  /** host:port of each runner; default STRAND_RUNNERS (comma-separated). */
  runners?: readonly string[];
  /** Shared token; default STRAND_TOKEN. */
  token?: string;
  /**
   * TLS to every runner: `ca` checks the runners' certificates (default: Node's root
   * store); `cert` and `key` are this driver's certificate, for runners that require one
   * (mutual TLS). PEM text or file paths. Default: STRAND_TLS_CA, STRAND_TLS_CERT and
   * STRAND_TLS_KEY when any is set; otherwise plain TCP.
   */
  tls?: TlsOptions;
  heartbeat?: HeartbeatOptions;
  /** Times a call is sent again, to another runner, when its runner is lost (default 3; 0: never). */
  retries?: number;
  /** Keep dialling a lost runner until it answers again (default true); see ClusterOptions.reconnect. */
  reconnect?: boolean | ReconnectOptions;
}

export type LocalOptions = LocalRunnersOptions & {
  heartbeat?: HeartbeatOptions;
  /** Times a call is sent again, to another runner, when its runner is lost (default 3; 0: never). */
  retries?: number;
  /** Keep dialling a lost runner until it answers again (default true); see ClusterOptions.reconnect. */
  reconnect?: boolean | ReconnectOptions;
};

/** Starts runner processes on this machine and connects to them; `close()` stops them. */
export async function local(options: LocalOptions = {}): Promise<Cluster> {
  checkRetries(options.retries, "local()");
  const r = await startLocalRunners(options);
  return Cluster.create({ runners: r.addresses, token: r.token, tls: r.tls, heartbeat: options.heartbeat, retries: options.retries, reconnect: options.reconnect, onClose: r.stop });
}

/**
 * Connects to running runners. With no addresses given and STRAND_RUNNERS unset, starts
 * a local cluster instead (like ray.init()), with TLS only if `options.tls` asks for it.
 */
export async function connect(options: ConnectOptions = {}): Promise<Cluster> {
  const env = process.env.STRAND_RUNNERS?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const runners = options.runners ?? env ?? [];
  const token = options.token ?? (process.env.STRAND_TOKEN || undefined);
  if (runners.length === 0) {
    return local({ ...(token !== undefined ? { token } : {}), ...(options.tls !== undefined ? { tls: options.tls } : {}), heartbeat: options.heartbeat, retries: options.retries, reconnect: options.reconnect });
  }
  return Cluster.create({ runners, token, tls: options.tls ?? tlsFromEnv(), heartbeat: options.heartbeat, retries: options.retries, reconnect: options.reconnect });
}
