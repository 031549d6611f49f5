import http from "node:http";
import { parseMetricsAddress, type MetricsAddress } from "./metrics/endpoint.ts";
import { closeHttp, listenHttp } from "./http-listen.ts";

// Health for schedulers that restart and route around processes (Kubernetes probes, a load
// balancer, `curl` in a script): GET /healthz says the process serves, GET /readyz whether it
// should be given work. Both runners and heads serve it when asked (`--health`), on loopback
// unless given a host. It says nothing but "ok", "ready" or why not, so it needs no token:
// probes cannot carry one, and there is nothing to read.

/** Why this process should not be given work now; undefined when it should. */
export type Readiness = () => string | undefined;

/** A listening health endpoint. */
export class HealthEndpoint {
  private constructor(private readonly server: http.Server, readonly address: string) {}

  /** Serves /healthz and /readyz on `spec` (`host:port`, `:port`, `port`: loopback; `true`: loopback, any port). */
  static async start(spec: MetricsAddress, notReady: Readiness): Promise<HealthEndpoint> {
    const { host, port } = parseMetricsAddress(spec);
    const server = http.createServer((req, res) => {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
        return;
      }
      const path = (req.url ?? "/").split("?")[0];
      const reply = (status: number, text: string): void => {
        res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : `${text}\n`);
      };
      if (path === "/healthz") return reply(200, "ok");
      if (path === "/readyz") {
        const why = notReady();
        return why === undefined ? reply(200, "ready") : reply(503, `not ready: ${why}`);
      }
      reply(404, "not found (try /healthz or /readyz)");
    });
    const address = await listenHttp(server, host, port, 5_000);
    return new HealthEndpoint(server, address);
  }

  close(): Promise<void> {
    return closeHttp(this.server);
  }
}
