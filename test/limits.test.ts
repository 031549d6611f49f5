import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../src/driver/bundle.ts";
import { frameOf, T } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { bundlePath } from "../src/runner/code-cache.ts";
import { frameHeadLength } from "../src/transport/frames.ts";
import { Cluster, ImportError, RunnerDaemon } from "../src/index.ts";
import { closed, fixture, handDriver, rawSocket, rejectionOf, removeDir, silentLogger, tempDir } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

// The runner's limits (issue 6): code cache paths come only from validated hashes, and
// frames, connections and code are bounded by --max-frame, --max-connections and
// --max-code. The object store's budget (--object-memory) is tested in
// object-lifetime.test.ts; a single object is bounded by it and, for a put, by the frame limit.

type M = typeof import("./fixtures/math.ts");
type V = typeof import("./fixtures/values.ts");

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

const token = "limits-token";

describe("code cache paths derive only from a validated SHA-256", () => {
  it("a peer-chosen name (a path, wrong case or length, a trailing newline) is refused", () => {
    const dir = "/var/cache/strand";
    const hex = "0123456789abcdef".repeat(4);
    for (const bad of ["../x", "../../../etc/passwd", "/etc/passwd", `${hex}/../../x`, hex.toUpperCase(), hex.slice(1), `${hex}0`, `${hex}\n`, "", `..${hex.slice(2)}`]) {
      expect(() => bundlePath(dir, bad), JSON.stringify(bad)).toThrow(ImportError);
    }
    expect(bundlePath(dir, hex)).toBe(path.join(dir, `${hex}.mjs`));
  });
});

describe("runner limits on the wire", () => {
  const maxFrame = 64 * 1024;
  let cacheDir: string;
  let daemon: RunnerDaemon;
  let maxCode: number;
  const t = useCluster<{ m: M }>(async (defer) => {
    cacheDir = await tempDir();
    defer(() => removeDir(cacheDir));
    // The limit sits between the two fixtures' bundles: math.ts fits, values.ts does not.
    const [small, big] = await Promise.all([bundle(fixture("math.ts")), bundle(fixture("values.ts"))]);
    maxCode = small.code.byteLength;
    expect(big.code.byteLength).toBeGreaterThan(maxCode);
    daemon = await RunnerDaemon.start({ port: 0, threads: 1, token, cacheDir, maxFrame, maxCode, maxConnections: 2, logger: silentLogger() });
    defer(() => daemon.close(1000));
    return Cluster.create({ runners: [daemon.address], token });
  }, { m: "math.ts" });
  beforeAll(async () => {
    expect(await t.m.add(1, 2)).toBe(3); // the first call fetches the code: it fits
    // The thread's lane connects in the background; the tests below count on it.
    while (t.cluster.runners[0]!.lanes.length < 1) await t.m.add(0, 0);
  });
  const laneAddress = (): string => `127.0.0.1:${t.cluster.runners[0]!.lanes[0]!}`;

  it("a module declared by a path is refused on a thread's lane too, and nothing is written outside the cache", async () => {
    expect(t.cluster.runners[0]!.lanes.length).toBe(1);
    const { conn } = await handDriver(laneAddress(), token);
    const gone = new Promise<void>((resolve) => conn.on("close", () => resolve()));
    conn.send(frameOf([T.Module, 1, "../escaped"]));
    await gone;
    expect(existsSync(path.join(cacheDir, "..", "escaped.mjs"))).toBe(false);
    // Bundles, named by their hash; `exec/` is the runner's own file cache (command graphs).
    for (const f of readdirSync(cacheDir, { withFileTypes: true })) {
      if (f.isDirectory()) expect(f.name).toBe("exec");
      else expect(f.name).toMatch(/^[0-9a-f]{64}\.mjs$/);
    }
    expect(await t.m.add(2, 2)).toBe(4);
  });

  it("--max-code: a bundle over the limit fails its calls with ImportError naming the limit; the runner keeps serving", async () => {
    const v = await t.cluster.import<V>(fixture("values.ts"));
    const err = await rejectionOf(v.sum(new Float64Array([1, 2])));
    expect(err).toBeInstanceOf(ImportError);
    expect((err as Error).message).toMatch(new RegExp(`over this runner's ${maxCode}-byte limit \\(--max-code\\)`));
    const hash = t.cluster.stats.modules.find((x) => x.module.endsWith("values.ts"))!.hash;
    expect(existsSync(path.join(cacheDir, `${hash}.mjs`))).toBe(false);
    expect(await t.m.add(3, 4)).toBe(7);
  });

  it("--max-frame: a frame of exactly the limit is taken, one byte more closes that connection (main port and lane)", async () => {
    // A put whose frame is exactly maxFrame bytes after the length prefix.
    const header = frameOf([T.Put, 1, "limits.1"])[0]!;
    const payload = new Uint8Array(maxFrame + 4 - ((frameHeadLength(2) + header.byteLength + 7) & ~7));
    const { conn, next } = await handDriver(daemon.address, token);
    conn.send([header, payload]);
    expect(readHeader(await next(), ANY_MESSAGE)).toEqual([T.Done, 1, true, payload.byteLength]);
    const gone = new Promise<void>((resolve) => conn.on("close", () => resolve()));
    conn.send([header, new Uint8Array(payload.byteLength + 1)]);
    await gone;

    for (const address of [daemon.address, laneAddress()]) {
      const d = await handDriver(address, token);
      const shut = new Promise<void>((resolve) => d.conn.on("close", () => resolve()));
      d.conn.socket.write(u32(maxFrame + 1));
      await shut;
    }
    expect(await t.m.add(5, 6)).toBe(11);
    const [stats] = await t.cluster.runnerStats();
    expect(stats!.objects).toBe(0); // the put went with its connection
  });

  it("--max-connections: one connection too many is closed at once, on the main port and on a lane", async () => {
    // The cluster holds one of the two on each port; a hand driver takes the second.
    for (const address of [daemon.address, laneAddress()]) {
      const second = await handDriver(address, token);
      const extra = await rawSocket(address);
      await closed(extra);
      second.conn.destroy();
    }
    expect(await t.m.add(7, 8)).toBe(15);
  });
});
