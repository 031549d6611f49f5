import type { TlsOptions } from "../transport/secure.ts";
import { Cluster, stopOnClose } from "./cluster.ts";
import { checkRetries } from "./calls/call-options.ts";
import { linkOptions, type LinkOptions } from "./link-options.ts";
import { startLocalRunners, type LocalRunnersOptions } from "./local.ts";
import { showProgressFromEnv } from "./observe/progress-env.ts";
import { tlsFromEnv } from "./tls-env.ts";
import { checkDashboard, dashboardOptions, type DashboardOption } from "./dashboard/options.ts";

export interface ConnectOptions extends LinkOptions, DashboardOption {
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
}

export interface LocalOptions extends LocalRunnersOptions, LinkOptions, DashboardOption {}

/** Starts runner processes on this machine and connects to them; `close()` stops them. */
export async function local(options: LocalOptions = {}): Promise<Cluster> {
  checkRetries(options.retries, "local()");
  // Off loopback the dashboard wants a token the user knows, not the one made up below.
  checkDashboard(dashboardOptions(options.dashboard), options.token);
  const r = await startLocalRunners(options);
  let cluster: Cluster;
  try {
    cluster = await Cluster.create({ runners: r.addresses, token: r.token, tls: r.tls, dashboard: options.dashboard, ...linkOptions(options) });
  } catch (err) {
    await r.stop();
    throw err;
  }
  stopOnClose(cluster, r.stop);
  showProgressFromEnv(cluster); // STRAND_PROGRESS (`strand run` sets it): draw its progress on stderr
  return cluster;
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
    return local({ ...(token !== undefined ? { token } : {}), ...(options.tls !== undefined ? { tls: options.tls } : {}), dashboard: options.dashboard, ...linkOptions(options) });
  }
  const cluster = await Cluster.create({ runners, token, tls: options.tls ?? tlsFromEnv(), dashboard: options.dashboard, ...linkOptions(options) });
  showProgressFromEnv(cluster);
  return cluster;
}
