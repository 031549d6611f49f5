import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../src/driver/bundle.ts";
import { decodeValue, encodeValue } from "../src/protocol/codec.ts";
import { frameOf, payloadOf, T, type Header } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { Cluster, ImportError, local, RunnerDaemon } from "../src/index.ts";
import { fixture, handDriver, removeDir, silentLogger, tempDir } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("code cache across sessions", () => {
  let cacheDir: string;
  let hash: string;
  beforeAll(async () => {
    cacheDir = await tempDir();
  });
  afterAll(() => removeDir(cacheDir));

  it("first session: 200 concurrent first calls fetch the code once and load it at most once per thread", async () => {
    const threads = 2;
    await using cluster = await local({ runners: 1, threads, cacheDir });
    const m = await cluster.import<M>(fixture("math.ts"));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => m.add(i, 1)));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));

    const [mod] = cluster.stats.modules;
    hash = mod!.hash;
    const [stats] = await cluster.runnerStats();
    expect(stats!.codeFetches).toBe(1);
    expect(stats!.codeBytesReceived).toBe(mod!.bundleBytes);
    expect(stats!.codeLoads).toBeGreaterThanOrEqual(1);
    expect(stats!.codeLoads).toBeLessThanOrEqual(threads);
    expect(cluster.stats.codeBytesSent).toBe(mod!.bundleBytes);
    expect(mod!.firstCallMs).toBeGreaterThan(0);

    // Stored under its SHA-256, and the bytes match it.
    const file = path.join(cacheDir, `${hash}.mjs`);
    expect(existsSync(file)).toBe(true);
    expect(sha256(readFileSync(file))).toBe(hash);
  });

  it("second session with the same cache dir: calls succeed without fetching or sending code", async () => {
    await using cluster = await local({ runners: 1, threads: 2, cacheDir });
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(cluster.stats.modules[0]!.hash).toBe(hash);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => m.add(i, i)));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i));
    const [stats] = await cluster.runnerStats();
    expect(stats!.codeFetches).toBe(0);
    expect(stats!.codeBytesReceived).toBe(0);
    expect(cluster.stats.codeBytesSent).toBe(0);
  });

  it("an edited module gets a new hash and is fetched again; the old version keeps working", async () => {
    const srcDir = await tempDir("strand-module-");
    const file = path.join(srcDir, "versioned.ts");
    type V = { version(): number };
    try {
      await using cluster = await local({ runners: 1, threads: 1, cacheDir });
      await writeFile(file, "export function version(): number { return 1; }\n");
      const v1 = await cluster.import<V>(file);
      expect(await v1.version()).toBe(1);
      await writeFile(file, "export function version(): number { return 2; }\n");
      const v2 = await cluster.import<V>(file);
      expect(await v2.version()).toBe(2);
      expect(await v1.version()).toBe(1);
      const hashes = cluster.stats.modules.map((x) => x.hash);
      expect(new Set(hashes).size).toBe(2);
      for (const h of hashes) expect(existsSync(path.join(cacheDir, `${h}.mjs`))).toBe(true);
      const [stats] = await cluster.runnerStats();
      expect(stats!.codeFetches).toBe(2);
    } finally {
      await removeDir(srcDir);
    }
  });
});

describe("code integrity and shared fetches", () => {
  let cacheDir: string;
  let daemon: RunnerDaemon;
  beforeAll(async () => {
    cacheDir = await tempDir();
    daemon = await RunnerDaemon.start({ host: "127.0.0.1", port: 0, threads: 1, cacheDir, logger: silentLogger() });
  });
  afterAll(async () => {
    await daemon.close(1000);
    await removeDir(cacheDir);
  });

  it("code whose bytes do not match its hash fails the call with ImportError and is not cached", async () => {
    const b = await bundle(fixture("busy.ts"));
    const { conn, next } = await handDriver(daemon.address);
    try {
      conn.send(frameOf([T.Module, 1, b.hash]));
      conn.send(frameOf([T.Call, 1, 1, "add", false], encodeValue([1, 2], "args")));
      const req = readHeader(await next(), ANY_MESSAGE) as Header;
      expect(req).toEqual([T.CodeRequest, b.hash]);
      const tampered = new TextEncoder().encode("export function add() { return 666; }\n");
      conn.send(frameOf([T.Code, b.hash, true], tampered));
      const result = await next();
      const h = readHeader(result, ANY_MESSAGE);
      expect(h[0]).toBe(T.Result);
      expect(h[2]).toBe(false); // not ok
      const { body, attachments } = payloadOf(result);
      const err = decodeValue(body, attachments);
      expect(err).toBeInstanceOf(ImportError);
      expect((err as Error).message).toMatch(/hash/);
      expect(existsSync(path.join(cacheDir, `${b.hash}.mjs`))).toBe(false);
    } finally {
      conn.destroy();
    }
    // A real driver with the real code then succeeds.
    await using cluster = await Cluster.create({ runners: [daemon.address] });
    const m = await cluster.import<typeof import("./fixtures/busy.ts")>(fixture("busy.ts"));
    expect(cluster.stats.modules[0]!.hash).toBe(b.hash);
    expect(await m.add(1, 2)).toBe(3);
  });

  // Regression: calls for one hash share one fetch, even across drivers. When the driver
  // whose session was fetching disconnected, every other driver's waiting call used to
  // fail with ImportError ("driver disconnected") though those drivers hold the code.
  it("a driver that disconnects during a shared code fetch does not fail another driver's calls", async () => {
    const b = await bundle(fixture("values.ts"));
    const first = await handDriver(daemon.address);
    first.conn.send(frameOf([T.Module, 1, b.hash]));
    first.conn.send(frameOf([T.Call, 1, 1, "sum", false], encodeValue([new Float64Array([1, 2])], "args")));
    expect(readHeader(await first.next(), ANY_MESSAGE)).toEqual([T.CodeRequest, b.hash]);

    await using cluster = await Cluster.create({ runners: [daemon.address] });
    const v = await cluster.import<typeof import("./fixtures/values.ts")>(fixture("values.ts"));
    expect(cluster.stats.modules[0]!.hash).toBe(b.hash);
    const call = v.sum(new Float64Array([3, 4]));
    // Make sure the runner has the second driver's call before the first driver leaves.
    await cluster.runnerStats();
    first.conn.destroy();
    expect(await call).toBe(7);
  });
});
