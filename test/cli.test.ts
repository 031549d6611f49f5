import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../src/driver/bundle.ts";
import { decodeValue, encodeValue } from "../src/protocol/codec.ts";
import { frameOf, payloadOf, T } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { Cluster, RunnerDaemon } from "../src/index.ts";
import { cleanEnv, exited, fixture, handDriver, removeDir, repoRoot, runCli, silentLogger, tempDir } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

const LISTENING = /^listening on (127\.0\.0\.1:(\d+))$/;

describe("strand CLI", () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await tempDir();
  });
  afterAll(() => removeDir(cacheDir));

  it("`strand runner` prints exactly one line, `listening on 127.0.0.1:<port>`, serves calls, and exits 0 on SIGTERM", async () => {
    const runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--cache-dir", cacheDir]);
    try {
      const [, address, port] = await runner.line(LISTENING);
      expect(Number(port)).toBeGreaterThan(0);
      await using cluster = await Cluster.create({ runners: [address!] });
      expect(cluster.runners[0]!.threads).toBe(1);
      expect(cluster.runners[0]!.pid).toBe(runner.child.pid);
      const m = await cluster.import<M>(fixture("math.ts"));
      expect(await m.add(40, 2)).toBe(42);
    } finally {
      runner.child.kill("SIGTERM");
    }
    expect(await runner.exit).toBe(0);
    expect(runner.stdout()).toBe(`${runner.lines[0]}\n`);
    expect(runner.lines).toHaveLength(1);
  });

  it("`--listen 0.0.0.0:0` without a token exits non-zero and says a token is needed", async () => {
    const runner = runCli(["runner", "--listen", "0.0.0.0:0", "--threads", "1"]);
    const code = await runner.exit;
    expect(code).not.toBe(0);
    expect(typeof code).toBe("number");
    expect(runner.stderr()).toMatch(/token/i);
    expect(runner.stdout()).not.toMatch(/listening/);
  });

  it("a bad --threads value exits non-zero with a message", async () => {
    const runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "many"]);
    expect(await runner.exit).not.toBe(0);
    expect(runner.stderr()).toMatch(/--threads/);
  });

  it("SIGTERM while a call is in flight: the call still resolves and the runner exits 0", async () => {
    const runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "1", "--cache-dir", cacheDir]);
    try {
      const [, address] = await runner.line(LISTENING);
      await using cluster = await Cluster.create({ runners: [address!] });
      const m = await cluster.import<M>(fixture("math.ts"));
      expect(await m.add(1, 1)).toBe(2); // code fetched and loaded
      const call = m.sleep(500);
      // Wait until the runner is running it (ask the runner: no sleeping).
      for (;;) {
        const [s] = await cluster.runnerStats();
        if (s!.inFlight === 1) break;
      }
      runner.child.kill("SIGTERM");
      expect(await call).toBe(500);
      expect(await runner.exit).toBe(0);
    } finally {
      if (runner.child.exitCode === null) runner.child.kill("SIGKILL");
    }
  });

  it("`strand --help` lists the runner and run commands", async () => {
    const child = spawn(process.execPath, ["bin/strand.js", "--help"], { cwd: repoRoot, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    expect(await exited(child)).toBe(0);
    expect(out).toMatch(/^\s+runner\b/m);
    expect(out).toMatch(/^\s+run\b/m);
  });

  it("`strand run --local 2 <script>` runs a driver script against two local runners", async () => {
    const run = runCli(["run", "--local", "2", "test/fixtures/driver-script.ts", "--", "a", "b c"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["sum 5", "runners 2 env 2 used 2", 'args ["a","b c"]']);
  });

  it("`strand run` exits with the script's exit code", async () => {
    const run = runCli(["run", "--local", "1", "test/fixtures/driver-script.ts"], cleanEnv({ EXIT_CODE: "3" }));
    expect(await run.exit).toBe(3);
    expect(run.lines[0]).toBe("sum 5");
  });
});

describe("graceful shutdown", () => {
  // Regression: drain used to wait only for calls the executor held; a call whose code was
  // still being fetched was dropped at once (the driver saw RunnerLostError), though
  // in-flight calls may finish within the grace period.
  it("a call still waiting for its code when the runner is told to stop is finished, not dropped", async () => {
    const cacheDir = await tempDir();
    const daemon = await RunnerDaemon.start({ host: "127.0.0.1", port: 0, threads: 1, cacheDir, logger: silentLogger() });
    const driver = await handDriver(daemon.address);
    let closing: Promise<void> | undefined;
    try {
      const b = await bundle(fixture("busy.ts"));
      driver.conn.send(frameOf([T.Module, 1, b.hash]));
      driver.conn.send(frameOf([T.Call, 1, 1, "add", false], encodeValue([2, 3], "args")));
      expect(readHeader(await driver.next(), ANY_MESSAGE)).toEqual([T.CodeRequest, b.hash]);
      closing = daemon.close(5000);
      driver.conn.send(frameOf([T.Code, b.hash, true], b.code));
      const result = await driver.next();
      expect(readHeader(result, ANY_MESSAGE).slice(0, 3)).toEqual([T.Result, 1, true]);
      const { body, attachments } = payloadOf(result);
      expect(decodeValue(body, attachments)).toBe(5);
    } finally {
      driver.conn.destroy();
      await (closing ?? daemon.close(0));
      await removeDir(cacheDir);
    }
  });
});
