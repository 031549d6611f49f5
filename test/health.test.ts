import { afterEach, describe, expect, it } from "vitest";
import { frameOf, T } from "../src/protocol/messages.ts";
import { RunnerDaemon } from "../src/runner/daemon.ts";
import { HealthEndpoint } from "../src/protocol/health.ts";
import { handDriver, silentLogger } from "./helpers.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function get(address: string, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}${path}`, { method });
  return { status: res.status, body: await res.text() };
}

describe("health endpoints", () => {
  it("/healthz says the process serves, /readyz whether it should get work; nothing else is served", async () => {
    let why: string | undefined = "starting";
    const h = await HealthEndpoint.start(true, () => why);
    cleanup.push(() => h.close());
    expect(h.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await get(h.address, "/healthz")).toEqual({ status: 200, body: "ok\n" });
    expect(await get(h.address, "/readyz")).toEqual({ status: 503, body: "not ready: starting\n" });
    why = undefined;
    expect(await get(h.address, "/readyz")).toEqual({ status: 200, body: "ready\n" });
    expect((await get(h.address, "/metrics")).status).toBe(404);
    expect((await get(h.address, "/healthz", "POST")).status).toBe(405);
    expect((await get(h.address, "/healthz", "HEAD")).status).toBe(200);
  });

  it("a runner is ready until it drains: /readyz answers 503 while it waits for its drivers to leave", async () => {
    const d = await RunnerDaemon.start({ port: 0, threads: 1, token: "t", health: "127.0.0.1:0", logger: silentLogger() });
    cleanup.push(() => d.close(0));
    const health = d.healthAddress!;
    expect(await get(health, "/readyz")).toEqual({ status: 200, body: "ready\n" });
    // A driver made by hand, which does not leave when told the runner drains: the drain waits for it.
    const { conn, next } = await handDriver(d.address, "t");
    conn.send(frameOf([T.Owner, "hand", false]));
    conn.send(frameOf([T.StatsRequest, 1]));
    await next(); // the Stats answer: the runner has read the Owner before it

    const closing = d.close(10_000);
    expect(await get(health, "/readyz")).toEqual({ status: 503, body: "not ready: draining\n" });
    expect(await get(health, "/healthz")).toEqual({ status: 200, body: "ok\n" });
    conn.destroy();
    await closing;
  });
});
