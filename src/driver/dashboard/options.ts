import { parseAddress } from "../../transport/connection.ts";
import type { TlsOptions } from "../../transport/secure.ts";
import { isLoopback } from "../../transport/loopback.ts";

/** `local({ dashboard })`, `connect({ dashboard })`: `true` for the defaults. */
export interface DashboardOptions {
  /**
   * host:port to serve on (default 127.0.0.1:8787, as Dask; if 8787 is taken, a free port).
   * Off loopback the page asks for the cluster token (see `token`).
   */
  listen?: string;
  /**
   * What a browser must present off loopback (bearer, or `?token=` once, which sets a
   * cookie). Default: the cluster's token. Off loopback without one the dashboard refuses to start.
   */
  token?: string;
  /** Serve HTTPS with this certificate and key (PEM text or files); recommended off loopback. */
  tls?: Pick<TlsOptions, "cert" | "key">;
  /** Do not print "Dashboard: <url>" on stderr (the CLI prints it itself). */
  quiet?: boolean;
}

/** The dashboard option of `local()` and `connect()`. */
export interface DashboardOption {
  /**
   * Serve a live web page of the cluster (runners, task stream, progress, errors, channels,
   * SPMD jobs) and print its URL; read-only, loopback by default. `cluster.dashboardUrl` has it.
   */
  dashboard?: boolean | DashboardOptions;
}

export const DEFAULT_DASHBOARD_PORT = 8787;
const DEFAULT_HOST = "127.0.0.1";

/** Where to listen: host, port, and whether the port was chosen by default (then a busy one falls back to a free one). */
export function listenAddress(listen: string | undefined): { host: string; port: number; defaultPort: boolean } {
  if (listen === undefined) return { host: DEFAULT_HOST, port: DEFAULT_DASHBOARD_PORT, defaultPort: true };
  const explicitPort = /:\d+$/.test(listen.trim());
  const { host, port } = parseAddress(listen, DEFAULT_DASHBOARD_PORT);
  return { host, port, defaultPort: !explicitPort };
}

/** The options `true`, `false` or an object stand for; undefined: no dashboard. */
export function dashboardOptions(d: boolean | DashboardOptions | undefined): DashboardOptions | undefined {
  if (d === undefined || d === false) return undefined;
  return d === true ? {} : d;
}

/**
 * Throws what starting the dashboard would, before anything else is started: off loopback
 * it needs a token (the page shows what runs where, and who failed with what).
 */
export function checkDashboard(d: DashboardOptions | undefined, token: string | undefined): void {
  if (d === undefined) return;
  const { host } = listenAddress(d.listen);
  if (!isLoopback(host) && !(d.token ?? token)) {
    throw new TypeError(`the dashboard refuses to listen on ${host}, off loopback, without a token: give the cluster a token (or dashboard: { token })`);
  }
}

/** The line to print once the dashboard serves: its URL, and off loopback how to bring the token (never the token). */
export function announcement(url: string, listen: string | undefined): string {
  return isLoopback(listenAddress(listen).host) ? `Dashboard: ${url}` : `Dashboard: ${url} (off loopback: open it once with ?token=<the cluster token> added)`;
}
