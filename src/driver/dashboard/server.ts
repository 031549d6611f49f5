import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import type { TlsPem } from "../../transport/secure.ts";
import { Access, loopbackHosts } from "./access.ts";
import { isLoopback } from "../../transport/loopback.ts";

// The dashboard's HTTP side, on node:http: three files, a JSON picture and an event stream.
// GET and HEAD only: nothing here runs code or changes the cluster, and any other method is
// answered 405 before anything else is looked at.

/** The page's files, read once from the package (no CDN: the page works offline). */
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** What the server serves from: a picture of the cluster, given the last span the viewer has. */
export interface PictureSource {
  picture(since: number): { lastSpan: number };
}

export interface ServerSettings {
  host: string;
  port: number;
  /** The port was not chosen by the user: a busy one falls back to a free one. */
  defaultPort: boolean;
  /** Required off loopback. */
  token: string | undefined;
  tls: TlsPem | undefined;
  /** Event streams open at once; more are refused (503). */
  maxStreams?: number;
}

interface Stream {
  res: ServerResponse;
  /** The last span it was sent. */
  since: number;
  /** Its socket is full: skip pictures until it drains (the next one carries what it missed). */
  blocked: boolean;
}

let assets: Map<string, Buffer> | undefined;

function loadAssets(): Map<string, Buffer> {
  assets ??= new Map(Object.values(ASSETS).map(({ file }) => [file, readFileSync(new URL(`./assets/${file}`, import.meta.url))]));
  return assets;
}

export class DashboardServer {
  private readonly streams = new Set<Stream>();
  private readonly maxStreams: number;
  private access!: Access;
  /** The URL to print: without the token. */
  url = "";

  private constructor(
    private readonly server: http.Server,
    private readonly source: PictureSource,
    private readonly settings: ServerSettings,
  ) {
    this.maxStreams = settings.maxStreams ?? 32;
  }

  static async start(settings: ServerSettings, source: PictureSource): Promise<DashboardServer> {
    const loopback = isLoopback(settings.host);
    if (!loopback && !settings.token) throw new TypeError(`the dashboard refuses to listen on ${settings.host}, off loopback, without a token`);
    const files = loadAssets();
    const server = settings.tls === undefined
      ? http.createServer()
      : https.createServer({ cert: settings.tls.cert, key: settings.tls.key });
    const s = new DashboardServer(server, source, settings);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => s.handle(req, res, files));
    server.on("clientError", (_err, socket) => socket.destroy());
    const port = await listen(server, settings.host, settings.port).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" && settings.defaultPort) return listen(server, settings.host, 0);
      throw err;
    });
    s.access = new Access(loopback ? undefined : settings.token, loopback ? loopbackHosts(settings.host, port) : undefined, settings.tls !== undefined);
    s.url = `${settings.tls === undefined ? "http" : "https"}://${displayHost(settings.host)}:${port}/`;
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Sends every open stream what changed since its last picture. */
  push(): void {
    for (const st of this.streams) if (!st.blocked) this.send(st);
  }

  async close(): Promise<void> {
    for (const st of this.streams) st.res.end();
    this.streams.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse, files: Map<string, Buffer>): void {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
      res.end("the dashboard is read-only: GET and HEAD only\n");
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://dashboard");
    } catch {
      return plain(res, 400, "bad request\n");
    }
    const verdict = this.access.check(req, url);
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="strand dashboard"');
      return plain(res, verdict.status, verdict.message);
    }
    if (verdict.setCookie !== undefined) res.setHeader("Set-Cookie", verdict.setCookie);
    if (verdict.redirect !== undefined) {
      res.writeHead(303, { Location: verdict.redirect, "Cache-Control": "no-store" });
      res.end();
      return;
    }
    const asset = ASSETS[url.pathname];
    if (asset !== undefined) {
      const body = files.get(asset.file)!;
      res.writeHead(200, { "Content-Type": asset.type, "Content-Length": body.byteLength, "Cache-Control": "no-cache" });
      res.end(body);
      return;
    }
    if (url.pathname === "/api/state") {
      const body = Buffer.from(JSON.stringify(this.source.picture(0)));
      res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.byteLength, "Cache-Control": "no-store" });
      res.end(body);
      return;
    }
    if (url.pathname === "/api/events") return this.stream(req, res);
    plain(res, 404, "not found\n");
  }

  /** Server-sent events: a picture now, then one per push with the spans since the last. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= this.maxStreams) return plain(res, 503, "too many dashboard streams open\n");
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    const st: Stream = { res, since: 0, blocked: false };
    this.streams.add(st);
    res.on("close", () => this.streams.delete(st));
    res.on("drain", () => {
      st.blocked = false;
    });
    res.write("retry: 1000\n\n");
    this.send(st);
  }

  private send(st: Stream): void {
    const p = this.source.picture(st.since);
    st.since = p.lastSpan;
    st.blocked = !st.res.write(`event: picture\ndata: ${JSON.stringify(p)}\n\n`);
  }
}

function plain(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  res.end(message);
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The host to put in the printed URL: a wildcard address is no place to point a browser. */
function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return os.hostname();
  return host.includes(":") ? `[${host}]` : host;
}
