import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Cluster, local } from "../src/index.ts";
import { startLocalRunners, type LocalRunners } from "../src/driver/local.ts";
import { awaitPicture } from "./dashboard-stream.ts";
import { cleanEnv, fixture, rejectionOf, removeDir, runCli, tempDir } from "./helpers.ts";
import { makeTestPki } from "./tls-certs.ts";
import { useCluster } from "./use-cluster.ts";

type Work = typeof import("./fixtures/dashboard-work.ts");

/** A raw request, so that the method and headers are exactly what the test says. */
function request(url: string, o: { method?: string; headers?: Record<string, string>; ca?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { method: o.method ?? "GET", headers: o.headers ?? {}, ...(o.ca !== undefined ? { ca: o.ca } : {}) };
    const req = (url.startsWith("https:") ? https : http).request(url, options, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Resolves once nothing accepts connections on the port any more. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => { s.destroy(); resolve(false); });
    s.once("error", () => resolve(true));
  });
}

const DASHBOARD_LINE = /^Dashboard: (https?:\/\/(\S+?):(\d+)\/)/;

describe("an embedded dashboard", () => {
  const t = useCluster<{ w: Work }>({ runners: 2, threads: 2, dashboard: { listen: "127.0.0.1:0", quiet: true } }, { w: "dashboard-work.ts" });
  const url = (): string => t.cluster.dashboardUrl!;

  it("serves the page from loopback, with headers that keep it to itself", async () => {
    expect(url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await request(url());
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.body).toContain('<script src="/app.js"');
    expect(page.body).not.toMatch(/https?:\/\/(?!127)/); // nothing from elsewhere: works offline
    for (const asset of ["app.js", "app.css", "favicon.svg"]) expect((await request(`${url()}${asset}`)).status).toBe(200);
    const state = await request(`${url()}api/state`);
    expect(state.headers["cache-control"]).toBe("no-store");
    expect(JSON.parse(state.body)).toMatchObject({ calls: expect.any(Boolean), runners: expect.any(Array) });
    expect((await request(`${url()}../../package.json`)).status).toBe(404);
    expect((await request(`${url()}api/nothing`)).status).toBe(404);
  });

  it("is read-only: every method but GET and HEAD gets 405, and nothing runs", async () => {
    const before = t.cluster.stats.calls;
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      for (const path of ["", "api/state", "api/events"]) {
        const r = await request(`${url()}${path}`, { method, headers: { "content-type": "application/json" } });
        expect(r.status, `${method} /${path}`).toBe(405);
        expect(r.headers.allow).toBe("GET, HEAD");
      }
    }
    const head = await request(url(), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect(t.cluster.stats.calls).toBe(before);
  });

  it("answers only to loopback names (a rebound DNS name is turned away)", async () => {
    const r = await request(`${url()}api/state`, { headers: { host: `attacker.example:${new URL(url()).port}` } });
    expect(r.status).toBe(403);
    expect((await request(`${url()}api/state`, { headers: { host: `localhost:${new URL(url()).port}` } })).status).toBe(200);
  });

  it("streams pictures as calls run and fail: both runners, progress, the error with its remote stack", async () => {
    const first = await awaitPicture(url(), (s) => s.picture.runners.length === 2 && s.picture.runners.every((r) => r.heardAgoMs !== null));
    expect(first.picture.runners.map((r) => r.address).sort()).toEqual(t.cluster.runners.map((r) => r.address).sort());
    await Promise.all(Array.from({ length: 6 }, () => t.w.crunch(5)));
    await expect(t.w.explode("sse")).rejects.toThrow(/dashboard test: sse/);
    const seen = await awaitPicture(url(), (s) =>
      s.picture.functions.some((f) => f.name === "crunch" && f.done >= 6) && s.picture.errors.some((e) => e.function === "explode")
      && s.spans.filter((x) => x[3] === "crunch").length >= 6);
    const crunch = seen.picture.functions.find((f) => f.name === "crunch")!;
    expect(crunch.running + crunch.queued).toBe(0);
    expect(crunch.meanMs).toBeGreaterThan(0);
    const error = seen.picture.errors.find((e) => e.function === "explode")!;
    expect(error.source).toBe("call");
    expect(error.message).toMatch(/RangeError: dashboard test: sse/);
    expect(error.stack).toMatch(/dashboard-work\.ts/); // the remote stack, pointing into the module
    // The spans name their function and thread, on this host's clock.
    const span = seen.spans.find((x) => x[3] === "crunch")!;
    expect(span[2]).toBeGreaterThan(0);
    expect(Math.abs(span[4] - Date.now())).toBeLessThan(60_000);
  });

  it("shows the driver's channels and SPMD jobs rank by rank", async () => {
    const ch = t.cluster.chan<number>(4);
    await ch.send(1);
    await ch.send(2);
    expect(await t.cluster.spmd(3, t.w.ring)).toEqual([3, 3, 3]);
    const seen = await awaitPicture(url(), (s) => s.picture.jobs.some((j) => j.function === "ring" && j.state === "done")
      && s.picture.channels.some((c) => c.buffered === 2));
    const job = seen.picture.jobs.find((j) => j.function === "ring")!;
    expect(job.ranks.map((r) => [r.rank, r.state])).toEqual([[0, "done"], [1, "done"], [2, "done"]]);
    expect(job.ranks.every((r) => r.runner !== null)).toBe(true);
    await ch.close();
  });
});

describe("dashboard defaults and refusals", () => {
  it("local({ dashboard: true }): loopback, port 8787 or a free one when it is taken, its URL printed, closed with the cluster", async () => {
    // Make sure 8787 is taken (by us, or already by someone else).
    const blocker = net.createServer();
    await new Promise<void>((resolve) => {
      blocker.once("error", () => resolve());
      blocker.listen(8787, "127.0.0.1", () => resolve());
    });
    const printed: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      printed.push(String(s));
      return true;
    });
    let cluster: Cluster | undefined;
    try {
      cluster = await local({ runners: 1, threads: 1, dashboard: true });
    } finally {
      spy.mockRestore();
      blocker.close();
    }
    try {
      const url = cluster.dashboardUrl!;
      const [, , host, port] = DASHBOARD_LINE.exec(`Dashboard: ${url}`)!;
      expect(host).toBe("127.0.0.1");
      expect(Number(port)).not.toBe(8787);
      expect(printed.join("")).toContain(`Dashboard: ${url}\n`);
      expect((await request(url)).status).toBe(200);
    } finally {
      await cluster.close();
    }
    expect(cluster.dashboardUrl).toBeDefined();
    expect(await refused(Number(new URL(cluster.dashboardUrl!).port))).toBe(true);
  });

  it("off loopback without a token: local() and `strand dashboard` refuse to start", async () => {
    const err = await rejectionOf(local({ runners: 1, dashboard: { listen: "0.0.0.0:0" } }));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/refuses to listen on 0\.0\.0\.0.*without a token/);
    const cli = runCli(["dashboard", "--runners", "127.0.0.1:1", "--listen", "0.0.0.0:0"]);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/without a token/);
    expect(cli.stdout()).toBe("");
  });
});

describe("a dashboard over HTTPS", () => {
  it("serves TLS with the given certificate; its cookie is Secure", async () => {
    const dir = await tempDir();
    try {
      const pki = await makeTestPki(dir);
      const ca = await readFile(pki.ca, "utf8");
      const token = "https-dashboard-token";
      await using cluster = await local({ runners: 1, threads: 1, token, dashboard: { listen: "0.0.0.0:0", quiet: true, tls: pki.runner } });
      const port = new URL(cluster.dashboardUrl!).port;
      expect(cluster.dashboardUrl).toMatch(/^https:/);
      const base = `https://127.0.0.1:${port}/`;
      expect((await request(`${base}api/state`, { ca })).status).toBe(401);
      expect((await request(`${base}api/state`, { ca, headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const once = await request(`${base}?token=${token}`, { ca });
      expect(once.headers["set-cookie"]![0]).toMatch(/; Secure/);
      await expect(request(`http://127.0.0.1:${port}/`)).rejects.toThrow(); // no plain HTTP on that port
    } finally {
      await removeDir(dir);
    }
  });
});

describe("`strand dashboard`", () => {
  const token = "dashboard-test-token-4f1c9e";
  let runners: LocalRunners;
  beforeAll(async () => {
    runners = await startLocalRunners({ runners: 2, threads: 1, token });
  });
  afterAll(() => runners.stop());

  it("off loopback: wants the token (401 without, 200 with it as a bearer, or once in the URL, then the cookie), and never prints or logs it", async () => {
    const cli = runCli(["dashboard", "--runners", runners.addresses.join(","), "--listen", "0.0.0.0:0"], cleanEnv({ STRAND_TOKEN: token, STRAND_LOG: "debug" }));
    try {
      const printed = await cli.line(DASHBOARD_LINE);
      const port = printed[3];
      expect(printed.input).toMatch(/\?token=<the cluster token>/);
      const base = `http://127.0.0.1:${port}/`;
      const denied = await request(`${base}api/state`);
      expect(denied.status).toBe(401);
      expect(denied.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(denied.body).not.toContain(token);
      expect((await request(base)).status).toBe(401);
      expect((await request(`${base}api/events`)).status).toBe(401);
      expect((await request(`${base}api/state`, { headers: { authorization: "Bearer not-the-token" } })).status).toBe(401);
      const ok = await request(`${base}api/state`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).runners).toHaveLength(2);
      const once = await request(`${base}?token=${token}`);
      expect(once.status).toBe(303);
      expect(once.headers.location).toBe("/");
      const cookie = once.headers["set-cookie"]![0]!.split(";")[0]!;
      expect(cookie).not.toContain(token);
      expect((await request(base, { headers: { cookie } })).status).toBe(200);
      expect((await request(`${base}api/state`, { method: "POST", headers: { cookie } })).status).toBe(405);
      await awaitPicture(base, (s) => s.picture.runners.length === 2, { cookie });
    } finally {
      cli.child.kill("SIGTERM");
    }
    expect(await cli.exit).toBe(0);
    expect(cli.stderr()).toMatch(/dashboard ready/); // it did log, at debug level
    expect(cli.stdout()).not.toContain(token);
    expect(cli.stderr()).not.toContain(token);
  });

  it("standalone on loopback: sees the calls of other drivers, and their failures, as the runners report them", async () => {
    const cli = runCli(["dashboard", "--runners", runners.addresses.join(","), "--listen", "127.0.0.1:0"], cleanEnv({ STRAND_TOKEN: token }));
    try {
      const [, base] = await cli.line(DASHBOARD_LINE);
      await awaitPicture(base!, (s) => s.picture.runners.filter((r) => r.heardAgoMs !== null).length === 2);
      await using other = await Cluster.create({ runners: runners.addresses, token });
      const w = await other.import<Work>(fixture("dashboard-work.ts"));
      await Promise.all(Array.from({ length: 4 }, () => w.crunch(2)));
      await expect(w.explode("standalone")).rejects.toThrow();
      const seen = await awaitPicture(base!, (s) => s.picture.functions.some((f) => f.name === "crunch" && f.done >= 4)
        && s.picture.errors.some((e) => e.function === "explode"));
      expect(seen.picture.calls).toBe(false);
      const error = seen.picture.errors.find((e) => e.function === "explode")!;
      expect(error).toMatchObject({ source: "runner", stack: null });
      expect(error.message).toMatch(/RangeError: dashboard test: standalone/);
      expect(seen.picture.channels).toEqual([]);
    } finally {
      cli.child.kill("SIGTERM");
    }
    expect(await cli.exit).toBe(0);
  });
});
