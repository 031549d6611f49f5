import type { TlsOptions } from "../transport/secure.ts";
import type { MetricsAddress } from "../protocol/metrics/endpoint.ts";
import { Cluster, setRunnerMetrics, stopOnClose } from "./cluster.ts";
import { checkRetries } from "./calls/call-options.ts";
import { checkWaitForRunners, linkOptions, type LinkOptions } from "./link-options.ts";
import { startLocalRunners, type LocalRunnersOptions } from "./local.ts";
import { showProgressFromEnv } from "./observe/progress-env.ts";
import { tlsFromEnv } from "./tls-env.ts";
import { checkDashboard, dashboardOptions, type DashboardOption } from "./dashboard/options.ts";

export interface ConnectOptions extends LinkOptions, DashboardOption {
  /** host:port of each runner; default STRAND_RUNNERS (comma-separated). */
  runners?: readonly string[];
  /**
   * host:port of the cluster's head (`strand head`): the runners are the ones registered
   * there, now and as they join and leave. Default STRAND_HEAD. With `runners` too, both.
   */
  head?: string;
  /** Shared token; default STRAND_TOKEN. */
  token?: string;
  /**
   * TLS to every runner: `ca` checks the runners' certificates (default: Node's root
   * store); `cert` and `key` are this driver's certificate, for runners that require one
   * (mutual TLS). PEM text or file paths. Default: STRAND_TLS_CA, STRAND_TLS_CERT and
   * STRAND_TLS_KEY when any is set; otherwise plain TCP.
   */
  tls?: TlsOptions;
  /**
   * Serve this driver's Prometheus metrics over HTTP at /metrics: `"host:port"`, `":port"` or
   * `"port"` (loopback), or `true` (loopback, a free port); see `cluster.metricsEndpoints`.
   * Default STRAND_METRICS; off without it. A local cluster's runners serve theirs too.
   */
  metrics?: MetricsAddress | false;
}

export interface LocalOptions extends Omit<LocalRunnersOptions, "metrics">, LinkOptions, DashboardOption {
  /**
   * Prometheus metrics: every runner on a free loopback port, and this driver at this
   * address (`true`: a free loopback port too); see `cluster.metricsEndpoints`. Off by default.
   */
  metrics?: MetricsAddress | false;
}

/** The metrics option, with STRAND_METRICS as its default. */
function metricsOption(given: MetricsAddress | false | undefined): MetricsAddress | undefined {
  if (given === false) return undefined;
  return given ?? (process.env.STRAND_METRICS || undefined);
}

/** Starts runner processes on this machine and connects to them; `close()` stops them. */
export async function local(options: LocalOptions = {}): Promise<Cluster> {
  checkRetries(options.retries, "local()");
  checkWaitForRunners(options.waitForRunners, "local()");
  // Off loopback the dashboard wants a token the user knows, not the one made up below.
  checkDashboard(dashboardOptions(options.dashboard), options.token);
  const metrics = options.metrics === false ? undefined : options.metrics;
  const r = await startLocalRunners({ ...options, metrics: metrics !== undefined });
  let cluster: Cluster;
  try {
    cluster = await Cluster.create({ runners: r.addresses, token: r.token, tls: r.tls, dashboard: options.dashboard, ...linkOptions(options), ...(metrics !== undefined ? { metrics } : {}) });
  } catch (err) {
    await r.stop();
    throw err;
  }
  stopOnClose(cluster, r.stop);
  setRunnerMetrics(cluster, r.metricsAddresses);
  showProgressFromEnv(cluster); // STRAND_PROGRESS (`strand run` sets it): draw its progress on stderr
  return cluster;
}

/**
 * Connects to running runners, or to a head that knows them. With neither given (nor
 * STRAND_RUNNERS / STRAND_HEAD), starts a local cluster instead (like ray.init()), with TLS
 * only if `options.tls` asks for it.
 */
export async function connect(options: ConnectOptions = {}): Promise<Cluster> {
  checkWaitForRunners(options.waitForRunners, "connect()");
  const env = process.env.STRAND_RUNNERS?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const runners = options.runners ?? env ?? [];
  const head = options.head ?? (process.env.STRAND_HEAD?.trim() || undefined);
  const token = options.token ?? (process.env.STRAND_TOKEN || undefined);
  const metrics = metricsOption(options.metrics);
  const withMetrics = metrics !== undefined ? { metrics } : {};
  if (runners.length === 0 && head === undefined) {
    return local({ ...(token !== undefined ? { token } : {}), ...(options.tls !== undefined ? { tls: options.tls } : {}), dashboard: options.dashboard, ...linkOptions(options), ...withMetrics });
  }
  const cluster = await Cluster.create({ runners, head, token, tls: options.tls ?? tlsFromEnv(), dashboard: options.dashboard, ...linkOptions(options), ...withMetrics });
  showProgressFromEnv(cluster);
  return cluster;
}
