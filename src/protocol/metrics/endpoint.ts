import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { Logger } from "pino";
import { METRICS_CONTENT_TYPE } from "./exposition.ts";
import { isLoopback } from "../../transport/loopback.ts";
import { closeHttp, listenHttp } from "../http-listen.ts";

// The HTTP endpoint Prometheus scrapes, for runners and drivers alike: GET (or HEAD)
// /metrics, nothing else. It binds to loopback unless given a host, answers every other
// method with 405 and every other path with 404, and reads no request body. It serves
// counts, never call ids, arguments or tokens. A bearer token (STRAND_METRICS_TOKEN) may
// guard it; it must not be the cluster's token, which would then travel in clear with
// every scrape and let whoever reads it run code on the runners.

/** The default metrics address: loopback, and a port the system picks. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

/** What `--metrics` and `metrics:` take: `host:port`, `:port` or `port` (loopback), `true` (loopback, any port). */
export type MetricsAddress = string | number | true;

export function parseMetricsAddress(spec: MetricsAddress): { host: string; port: number } {
  if (spec === true) return { host: DEFAULT_METRICS_HOST, port: 0 };
  const s = String(spec).trim();
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(s);
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port > 65535) throw new TypeError(`bad metrics address "${s}" (want host:port, :port or port)`);
  return { host: m[1] === undefined || m[1] === "" ? DEFAULT_METRICS_HOST : m[1], port };
}

export interface MetricsEndpointOptions {
  /** The text exposition, rendered per request. */
  render: () => Promise<string>;
  /** Requests must carry `Authorization: Bearer <token>` (default STRAND_METRICS_TOKEN; "" or unset: none). */
  bearer?: string | undefined;
  /** A token this endpoint must never accept as its bearer (the cluster's). */
  secret?: string | undefined;
  log?: Logger | undefined;
}

/** A listening metrics endpoint. */
export class MetricsEndpoint {
  private constructor(private readonly server: http.Server, readonly address: string) {}

  /** Starts serving `/metrics` on `spec` (see parseMetricsAddress). */
  static async start(spec: MetricsAddress, opts: MetricsEndpointOptions): Promise<MetricsEndpoint> {
    const { host, port } = parseMetricsAddress(spec);
    const bearer = opts.bearer ?? (process.env.STRAND_METRICS_TOKEN || undefined);
    if (bearer !== undefined && opts.secret !== undefined && bearer === opts.secret) {
      throw new Error("refusing to guard metrics with the cluster's token: it would travel in clear with every scrape (set STRAND_METRICS_TOKEN to a token of its own)");
    }
    const expected = bearer === undefined ? undefined : Buffer.from(`Bearer ${bearer}`);
    const server = http.createServer((req, res) => serve(req, res, opts, expected));
    const address = await listenHttp(server, host, port, 10_000);
    if (!isLoopback(host)) {
      opts.log?.warn({ address, bearer: expected !== undefined }, "metrics served beyond loopback: keep the port behind the network's controls (or set STRAND_METRICS_TOKEN)");
    }
    return new MetricsEndpoint(server, address);
  }

  close(): Promise<void> {
    return closeHttp(this.server);
  }
}

function serve(req: http.IncomingMessage, res: http.ServerResponse, opts: MetricsEndpointOptions, expected: Buffer | undefined): void {
  const path = (req.url ?? "/").split("?")[0];
  const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...headers });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "read-only: GET /metrics\n", { Allow: "GET, HEAD" });
  if (path !== "/metrics") return reply(404, "not found: GET /metrics\n");
  if (expected !== undefined) {
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply(401, "unauthorized\n", { "WWW-Authenticate": "Bearer" });
  }
  opts.render().then(
    (text) => {
      res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE });
      res.end(req.method === "HEAD" ? undefined : text);
    },
    (err: unknown) => {
      opts.log?.warn({ err: (err as Error).message }, "metrics: rendering failed");
      reply(500, "metrics unavailable\n");
    },
  );
}
