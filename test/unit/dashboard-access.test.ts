import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { Access, cookieOf, COOKIE, loopbackHosts } from "../../src/driver/dashboard/access.ts";

// Who may read the dashboard, decided from a request's headers and URL alone.

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
const url = (path: string): URL => new URL(path, "http://dashboard");

describe("dashboard access", () => {
  it("on loopback: open to this host, under loopback names only (no DNS rebinding)", () => {
    const a = new Access(undefined, loopbackHosts("127.0.0.1", 8787), false);
    expect(a.check(req({ host: "127.0.0.1:8787" }), url("/")).ok).toBe(true);
    expect(a.check(req({ host: "LOCALHOST:8787" }), url("/")).ok).toBe(true);
    expect(a.check(req({ host: "[::1]:8787" }), url("/api/state")).ok).toBe(true);
    expect(a.check(req({ host: "evil.example:8787" }), url("/"))).toMatchObject({ ok: false, status: 403 });
    expect(a.check(req({ host: "127.0.0.1:9999" }), url("/"))).toMatchObject({ ok: false, status: 403 });
    expect(a.check(req({}), url("/"))).toMatchObject({ ok: false, status: 403 });
  });

  it("off loopback: the token as a bearer, or once in the URL (which leaves a cookie without the token in it)", () => {
    const token = "s3cret-token";
    const a = new Access(token, undefined, true);
    expect(a.check(req({}), url("/"))).toMatchObject({ ok: false, status: 401 });
    expect(a.check(req({ authorization: "Bearer wrong" }), url("/"))).toMatchObject({ ok: false, status: 401 });
    expect(a.check(req({ authorization: `Bearer ${token}` }), url("/api/state")).ok).toBe(true);
    expect(a.check(req({}), url("/?token=wrong"))).toMatchObject({ ok: false, status: 401 });
    const v = a.check(req({}), url(`/?token=${token}&x=1`));
    expect(v).toMatchObject({ ok: true, redirect: "/?x=1" });
    const setCookie = (v as { setCookie: string }).setCookie;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).not.toContain(token);
    const cookie = setCookie.split(";")[0]!;
    expect(a.check(req({ cookie: `other=1; ${cookie}` }), url("/api/events")).ok).toBe(true);
    expect(a.check(req({ cookie: `${COOKIE}=forged` }), url("/"))).toMatchObject({ ok: false, status: 401 });
    // Not the page: served at once, with the cookie.
    expect(a.check(req({}), url(`/api/state?token=${token}`))).toMatchObject({ ok: true, setCookie });
  });

  it("reads cookies", () => {
    expect(cookieOf("a=1; b=2", "b")).toBe("2");
    expect(cookieOf("ab=1", "a")).toBeUndefined();
    expect(cookieOf(undefined, "a")).toBeUndefined();
  });
});
