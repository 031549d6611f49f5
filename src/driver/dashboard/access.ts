import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

// Who may read the dashboard. On loopback: anyone on this host, as with Dask, but only under
// a loopback Host name (a web page elsewhere that rebinds its DNS name to 127.0.0.1 reaches the
// port under its own name, and is turned away). Off loopback: whoever holds the cluster token,
// as a bearer token, or once as `?token=` that leaves a cookie behind. The cookie holds an HMAC
// of the token, never the token itself: the token lets its holder run code on the runners.

export const COOKIE = "strand_dashboard";

/** What to do with a request. */
export type Verdict =
  | { ok: true; setCookie?: string; redirect?: string }
  | { ok: false; status: 401 | 403; message: string };

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

export class Access {
  private readonly cookieValue: string | undefined;

  /**
   * `token`: required off loopback (undefined: the dashboard is on loopback and open to this
   * host). `hosts`: the Host headers a loopback dashboard answers to.
   */
  constructor(
    private readonly token: string | undefined,
    private readonly hosts: ReadonlySet<string> | undefined,
    private readonly secure: boolean,
  ) {
    this.cookieValue = token === undefined ? undefined : createHmac("sha256", token).update("strand dashboard cookie v1").digest("base64url");
  }

  check(req: IncomingMessage, url: URL): Verdict {
    if (this.hosts !== undefined && !this.hosts.has((req.headers.host ?? "").toLowerCase())) {
      return { ok: false, status: 403, message: "this dashboard answers only to a loopback address (the Host header named another)\n" };
    }
    if (this.token === undefined) return { ok: true };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (bearer !== undefined && same(bearer, this.token)) return { ok: true };
    const cookie = cookieOf(req.headers.cookie, COOKIE);
    if (cookie !== undefined && same(cookie, this.cookieValue!)) return { ok: true };
    const given = url.searchParams.get("token");
    if (given !== null && same(given, this.token)) {
      const setCookie = `${COOKIE}=${this.cookieValue}; Path=/; HttpOnly; SameSite=Strict${this.secure ? "; Secure" : ""}`;
      // The page itself: send the browser to the address without the token, so that it
      // stays out of the address bar, the history and any Referer.
      url.searchParams.delete("token");
      return url.pathname === "/" ? { ok: true, setCookie, redirect: `/${url.search}` } : { ok: true, setCookie };
    }
    return { ok: false, status: 401, message: "this dashboard wants the cluster token: open it once with ?token=<token>, or send Authorization: Bearer <token>\n" };
  }
}

/** A cookie's value from a Cookie header. */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i !== -1 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The Host headers a loopback server on `host`:`port` answers to. */
export function loopbackHosts(host: string, port: number): Set<string> {
  const named = host.includes(":") ? `[${host}]` : host;
  return new Set(["127.0.0.1", "localhost", "[::1]", named].map((h) => `${h.toLowerCase()}:${port}`));
}
