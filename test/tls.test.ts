import net from "node:net";
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalRunners, type LocalRunners } from "../src/driver/local.ts";
import { AuthError, Cluster, RunnerDaemon, type TlsOptions } from "../src/index.ts";
import { encodeValue } from "../src/protocol/codec.ts";
import type { RankConfig } from "../src/runner/spmd/config.ts";
import type { Envelope } from "../src/runner/spmd/mailbox.ts";
import { RemoteLinks } from "../src/runner/spmd/remote-links.ts";
import { loadTls, Tls } from "../src/transport/secure.ts";
import { bigSamples } from "./fixtures/spmd.ts";
import { fixture, handDriver, rejectionOf, removeDir, runCli, cleanEnv, silentLogger, tempDir } from "./helpers.ts";
import { makeTestPki, type TestPki } from "./tls-certs.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");
type Objects = typeof import("./fixtures/objects.ts");
type Chans = typeof import("./fixtures/chans.ts");
type Spmd = typeof import("./fixtures/spmd.ts");

/** The AuthError a promise rejects with (fails the test if it is anything else). */
async function authError(p: Promise<unknown>): Promise<AuthError> {
  const err = await rejectionOf(p);
  expect(err, String((err as Error).stack)).toBeInstanceOf(AuthError);
  expect((err as AuthError).code).toBe("ERR_STRAND_AUTH");
  return err as AuthError;
}

// Certificates are made here with the openssl CLI: a CA, a runner certificate for 127.0.0.1,
// a driver's client certificate, and a client certificate from a CA the runners do not trust.
describe("TLS and mutual TLS between every pair of hosts", () => {
  let dir: string;
  let pki: TestPki;
  let runners: LocalRunners; // two runner processes, mutual TLS
  let driverTls: TlsOptions;
  const t = useCluster<{ m: M }>(async (defer) => {
    dir = await tempDir("strand-tls-");
    defer(() => removeDir(dir));
    pki = await makeTestPki(dir);
    runners = await startLocalRunners({ runners: 2, threads: 1, tls: { ...pki.runner, ca: pki.ca } });
    defer(() => runners.stop());
    driverTls = { ...pki.client, ca: pki.ca };
    return Cluster.create({ runners: runners.addresses, token: runners.token, tls: driverTls });
  }, { m: "math.ts" });

  it("calls run over TLS, on the main connections and on every thread's lane", async () => {
    // Lanes connect as the runners announce them; each awaited call is an event, no sleeping.
    while (t.cluster.runners.some((r) => r.lanes.length < 1)) await t.m.add(0, 0);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.m.add(i, 1)));
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(t.cluster.runners.map((r) => r.lanes.length)).toEqual([1, 1]);
    expect(t.cluster.runners.every((r) => r.alive)).toBe(true);
    // A lane port is TLS-only like the main port, so the connected lanes run TLS.
    const lane = `127.0.0.1:${t.cluster.runners[0]!.lanes[0]!}`;
    expect((await authError(handDriver(lane, runners.token))).message).toMatch(/TLS required/);
  });

  it("runners fetch objects from each other over TLS, presenting their own certificate", async () => {
    const o = await t.cluster.import<Objects>(fixture("objects.ts"));
    const before = await t.cluster.runnerStats();
    // One put, then the second runner pulls it from the first: a runner-to-runner fetch.
    const ref = await t.cluster.broadcast(new Float64Array(131_072).fill(2));
    const after = await t.cluster.runnerStats();
    const fetched = after.map((s, i) => s.objectBytesFetched - before[i]!.objectBytesFetched);
    expect(after.reduce((n, s, i) => n + s.objectFetches - before[i]!.objectFetches, 0)).toBe(1);
    expect(Math.max(...fetched)).toBeGreaterThanOrEqual(131_072 * 8);
    expect(await o.sum(ref)).toBe(262_144);
    ref.release();
  });

  it("channels carry small values through the driver and big ones runner to runner", async () => {
    const c = await t.cluster.import<Chans>(fixture("chans.ts"));
    const small = t.cluster.chan<number>(4);
    const drained = c.drain(small);
    await c.produce(small, 1, 100);
    await small.close();
    expect(await drained).toEqual({ n: 100, sum: 5050 });

    const big = t.cluster.chan<Float64Array>(1);
    const stats0 = await t.cluster.runnerStats();
    const summed = c.sumArrays(big);
    await c.produceBig(big, 3, 100_000);
    await big.close();
    expect(await summed).toEqual({ n: 3, sum: 100_000 * 3 });
    const stats = await t.cluster.runnerStats();
    // Producer and consumer ran on different runners: each value crossed between them.
    expect(stats.reduce((n, s, i) => n + s.objectFetches - stats0[i]!.objectFetches, 0)).toBe(3);
  });

  it("an SPMD job's ranks on two runners talk over TLS", async () => {
    const s = await t.cluster.import<Spmd>(fixture("spmd.ts"));
    const info = await t.cluster.spmd({ size: 2, placement: [0, 1] }, s.rankInfo);
    expect(info.map((r) => r.pid)).toEqual(t.cluster.runners.map((r) => r.pid));
    const [, got] = await t.cluster.spmd({ size: 2, placement: [0, 1] }, s.sendSamples, "big");
    const want = bigSamples();
    expect(got!.map((g) => [g.source, g.tag])).toEqual(want.map((_, i) => [0, i]));
    expect((got![0]!.value as Float64Array)[149_999]).toBe(149_999 * 0.25);
    expect((got![1]!.value as Uint8Array).byteLength).toBe(3 * 1024 * 1024);
    // A resolved send over TLS leaves the sender free to overwrite its array.
    const [, mutated] = await t.cluster.spmd({ size: 2, placement: [0, 1] }, s.mutateAfterSend, 300_000);
    expect(mutated).toEqual({ min: 1, max: 1, length: 600_000 });
  });

  it("a rank's server is TLS-only; a rank with the runner's certificate gets through", async () => {
    const tls = new Tls(loadTls({ ...pki.runner, ca: pki.ca }));
    const cfg: RankConfig = {
      host: "127.0.0.1", token: "t", tls, maxFrame: 1 << 20, maxConnections: 4,
      info: { id: "test", threads: 1, pid: process.pid, hostname: "test", maxFrame: 1 << 20 },
    };
    let deliver: (m: Envelope) => void = () => {};
    const delivered = new Promise<Envelope>((resolve) => (deliver = resolve));
    const r0 = await RemoteLinks.listen("job", 0, 2, cfg, { deliver: (e) => deliver(e), lost: () => {} });
    const r1 = await RemoteLinks.listen("job", 1, 2, cfg, { deliver: () => {}, lost: () => {} });
    try {
      expect((await authError(handDriver(`127.0.0.1:${r0.port}`, "t"))).message).toMatch(/TLS required/);
      r1.setTable([{ host: "127.0.0.1", port: r0.port, runner: 0, thread: 0 }, { host: "127.0.0.1", port: r1.port, runner: 1, thread: 0 }]);
      const { body, attachments } = encodeValue("over TLS", "message");
      await r1.send(0, "w:p", 7, [body, ...attachments], true);
      const bytes = [body, ...attachments].reduce((n, s) => n + s.byteLength, 0);
      expect(await delivered).toEqual({ context: "w:p", source: 1, tag: 7, value: "over TLS", bytes });
    } finally {
      r1.close();
      r0.close();
    }
  });

  it("a plain driver is refused with AuthError: TLS required", async () => {
    const err = await authError(Cluster.create({ runners: runners.addresses, token: runners.token }));
    expect(err.message).toMatch(/TLS required/);
  });

  it("mutual TLS: a driver without a client certificate, or with one from another CA, is refused", async () => {
    const none = await authError(Cluster.create({ runners: runners.addresses, token: runners.token, tls: { ca: pki.ca } }));
    expect(none.message).toMatch(/TLS client certificate refused.*none given/);
    const rogue = await authError(Cluster.create({ runners: runners.addresses, token: runners.token, tls: { ...pki.rogue, ca: pki.ca } }));
    expect(rogue.message).toMatch(/TLS client certificate refused.*UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    // The connected driver is not disturbed.
    expect(await t.m.add(20, 22)).toBe(42);
  });

  it("a driver that cannot verify the runners' certificate refuses them", async () => {
    const err = await authError(Cluster.create({ runners: runners.addresses, token: runners.token, tls: { ...pki.client, ca: pki.otherCa } }));
    expect(err.message).toMatch(/cannot verify 127\.0\.0\.1:\d+: self-signed certificate in certificate chain/);
  });

  it("a TLS driver refuses a plain runner, or any server that answers in plain text: TLS required", async () => {
    const plain = await RunnerDaemon.start({ port: 0, threads: 1, token: "t", logger: silentLogger() });
    const chatty = net.createServer((s) => s.end("220 not TLS\r\n"));
    await new Promise<void>((r) => chatty.listen(0, "127.0.0.1", () => r()));
    try {
      const err = await authError(Cluster.create({ runners: [plain.address], token: "t", tls: driverTls }));
      expect(err.message).toMatch(/TLS required/);
      expect(plain.stats().sessions).toBe(0);
      const port = (chatty.address() as net.AddressInfo).port;
      expect((await authError(Cluster.create({ runners: [`127.0.0.1:${port}`], token: "t", tls: driverTls }))).message).toMatch(/TLS required/);
    } finally {
      chatty.close();
      await plain.close(1000);
    }
  });

  it("server-only TLS (no CA on the runner) takes drivers without certificates; key and token never reach its log", async () => {
    const logged: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => logged.push(line) });
    const token = "tok-not-in-the-log-8f2c";
    const d = await RunnerDaemon.start({ port: 0, threads: 1, token, tls: pki.runner, logger });
    try {
      expect(d.tls?.mutual).toBe(false);
      await using c = await Cluster.create({ runners: [d.address], token, tls: { ca: pki.ca } });
      expect(await (await c.import<M>(fixture("math.ts"))).add(1, 2)).toBe(3);
      await authError(Cluster.create({ runners: [d.address], token }));
      await authError(Cluster.create({ runners: [d.address], token: "wrong", tls: { ca: pki.ca } }));
    } finally {
      await d.close(1000);
    }
    const log = logged.join("");
    expect(log).toMatch(/"reason":"TLS required[^"]*","msg":"client refused before the handshake"/);
    expect(log).toMatch(/"msg":"handshake refused"/); // the wrong token, over TLS
    expect(log).not.toMatch(/PRIVATE KEY|BEGIN/);
    expect(log).not.toContain(token);
  });

  it("`strand run --local` gives the TLS flags to its runners and, in STRAND_TLS_*, to the script's connect()", async () => {
    const run = runCli(["run", "--local", "2", "--tls-cert", pki.runner.cert, "--tls-key", pki.runner.key, "--tls-ca", pki.ca,
      "test/fixtures/driver-script.ts"], cleanEnv({ STRAND_LOG: "info" }));
    expect(await run.exit).toBe(0);
    expect(run.lines[0]).toBe("sum 5");
    // Each runner says so when ready (its log is the CLI's stderr); a plain script would have been refused.
    expect(run.stderr().match(/"tls":"mutual"[^\n]*"msg":"runner ready"/g)).toHaveLength(2);
    expect(run.stderr()).not.toMatch(/PRIVATE KEY/);
  });

  it("`strand mpirun --local` passes --tls-cert/--tls-key/--tls-ca to its runners and its driver", async () => {
    const run = runCli(["mpirun", "-n", "2", "--local", "2", "--threads", "1",
      "--tls-cert", pki.runner.cert, "--tls-key", pki.runner.key, "--tls-ca", pki.ca, "test/fixtures/mpi-prog.ts", "--", "1000"], cleanEnv({ STRAND_LOG: "info" }));
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["1"]); // element-wise sum of ranks 0 and 1
    expect(run.stderr().match(/"tls":"mutual"[^\n]*"msg":"runner ready"/g)).toHaveLength(2);
    expect(run.stderr()).not.toMatch(/PRIVATE KEY/);
  });
});
