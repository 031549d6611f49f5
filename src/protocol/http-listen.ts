import type http from "node:http";
import type net from "node:net";

/**
 * Starts one of our read-only HTTP endpoints (metrics, health) on host:port and resolves with
 * the address it got, `[v6]:port` or `v4:port`. Few connections and short timeouts: scrapers
 * and probes need one or two, and nobody should hold one open.
 */
export async function listenHttp(server: http.Server, host: string, port: number, requestTimeoutMs: number): Promise<string> {
  server.maxConnections = 16;
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as net.AddressInfo;
  return `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Stops the endpoint, closing connections still open (keep-alive ones included). */
export function closeHttp(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
