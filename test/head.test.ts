import { afterEach, describe, expect, it } from "vitest";
import { AuthError, Cluster, ProtocolError, RunnerLostError } from "../src/index.ts";
import { fixture, handDriver, rejectionOf, removeDir, RunnerEvents, silentLogger, tempDir } from "./helpers.ts";
import { makeTestPki } from "./tls-certs.ts";
import { startLocalHead } from "../src/driver/local-head.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { HeadCluster, kill9, liveRunners, stopProcess, TOKEN } from "./membership/head-cluster.ts";
import { frameOf, T } from "../src/protocol/messages.ts";
import { readHeader, ANY_MESSAGE } from "../src/protocol/read-header.ts";

type F = typeof import("./fixtures/faults.ts");

const procs = new HeadCluster();
afterEach(() => procs.stopAll());

const driver = (head: string, token = TOKEN): Promise<Cluster> => Cluster.create({ runners: [], head, token, logger: silentLogger() });

describe("runners join a head; drivers learn them from it", { timeout: 90_000 }, () => {
  it("a driver given only the head's address uses every runner registered there, and hears of each new one", async () => {
    const head = await procs.head();
    const first = await procs.runners(head.address, 2);
    await using cluster = await driver(head.address);
    await liveRunners(cluster, 2);
    const pids = new Set(cluster.runners.map((r) => r.pid));
    expect(pids).toEqual(new Set(first.processes.map((p) => p.pid)));
    const events = new RunnerEvents(cluster);
    const later = await procs.runners(head.address, 1);
    const joined = await events.next("joined", later.addresses[0]!);
    expect(joined.pid).toBe(later.processes[0]!.pid);
    const m = await cluster.import<F>(fixture("faults.ts"));
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => m.square(i, 20)));
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 30 }, (_, i) => i * i));
    // Three runners of one thread each, 30 calls of 20 ms: every runner took some.
    expect(new Set(results.map((r) => r.pid))).toEqual(new Set([...first.processes, ...later.processes].map((p) => p.pid)));
  });

  it("a runner joining mid-job takes queued calls at once", async () => {
    const head = await procs.head();
    await procs.runners(head.address, 1);
    await using cluster = await driver(head.address);
    await liveRunners(cluster, 1);
    const m = await cluster.import<F>(fixture("faults.ts"));
    const job = Array.from({ length: 40 }, (_, i) => m.square(i, 100)); // 4 s on one thread
    const events = new RunnerEvents(cluster);
    const later = await procs.runners(head.address, 1);
    await events.next("joined", later.addresses[0]!);
    const queuedWhenJoined = cluster.stats.queued;
    const results = await Promise.all(job);
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 40 }, (_, i) => i * i));
    if (queuedWhenJoined > 0) expect(results.some((r) => r.pid === later.processes[0]!.pid)).toBe(true);
    expect(queuedWhenJoined).toBeGreaterThan(0); // else the test proved nothing: the machine was too slow to start a runner
  });

  it("a runner stopped gracefully leaves: its calls finish, nothing is lost, and it is not dialled again", async () => {
    const head = await procs.head();
    const r = await procs.runners(head.address, 2);
    await using cluster = await driver(head.address);
    await liveRunners(cluster, 2);
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<F>(fixture("faults.ts"));
    const job = Array.from({ length: 24 }, (_, i) => m.square(i, 50));
    const leaving = r.addresses[0]!;
    await stopProcess(r.processes[0]!); // SIGTERM: drains
    await events.next("left", leaving);
    const results = await Promise.all(job);
    expect(results.map((x) => x.value)).toEqual(Array.from({ length: 24 }, (_, i) => i * i));
    expect(events.seen.filter((e) => e.address === leaving).map((e) => e.type)).toEqual(["left"]);
    // Gone for good: no longer listed, so an elastic cluster does not keep every runner it ever had.
    expect(cluster.runners.map((x) => x.address)).toEqual([r.addresses[1]]);
    expect(cluster.stats.failed).toBe(0);
  });
});

describe("the head is not needed to keep going", { timeout: 90_000 }, () => {
  it("with the head killed, calls go on; when it returns on its address, runners register again and the driver reconciles", async () => {
    let head = await procs.head();
    const address = head.address;
    const r = await procs.runners(address, 1);
    await using cluster = await driver(address);
    await liveRunners(cluster, 1);
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<F>(fixture("faults.ts"));

    await kill9(head.process);
    expect((await m.square(3, 0)).pid).toBe(r.processes[0]!.pid); // no head, same runner
    // A runner started while the head is down keeps trying to register.
    const later = await procs.runners(address, 1);
    head = await procs.head(address);
    const joined = await events.next("joined", later.addresses[0]!);
    expect(joined.pid).toBe(later.processes[0]!.pid);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => m.square(i, 20)));
    expect(new Set(results.map((x) => x.pid))).toEqual(new Set([r.processes[0]!.pid, later.processes[0]!.pid]));
    // The runner the driver kept was never lost or joined again.
    expect(events.seen.filter((e) => e.address === r.addresses[0])).toEqual([]);
  });
});

describe("who may join, and who is what", () => {
  it("a driver with the wrong token is refused by the head, one given no head fails at once; a head and a runner are not mistaken for each other", async () => {
    const head = await procs.head();
    const r = await procs.runners(head.address, 1);
    expect(await rejectionOf(driver(head.address, "wrong"))).toBeInstanceOf(AuthError);
    const asRunner = await rejectionOf(Cluster.create({ runners: [head.address], token: TOKEN, logger: silentLogger() }));
    expect(asRunner).toBeInstanceOf(ProtocolError);
    expect((asRunner as Error).message).toMatch(/is a head, not a runner: connect\(\{ head/);
    const nobody = await rejectionOf(driver("127.0.0.1:9")); // discard: nothing listens
    expect(nobody).toBeInstanceOf(RunnerLostError);
    expect((nobody as Error).message).toMatch(/127\.0\.0\.1:9 lost: cannot reach the head/);
    const asHead = await rejectionOf(driver(r.addresses[0]!));
    expect(asHead).toBeInstanceOf(ProtocolError);
    expect((asHead as Error).message).toMatch(/is a runner, not a head/);
  });

  it("a runner with the wrong token never becomes a member", async () => {
    const head = await procs.head();
    await using cluster = await driver(head.address);
    const events = new RunnerEvents(cluster);
    const impostor = await procs.runners(head.address, 1, "not-the-token");
    const good = await procs.runners(head.address, 1);
    await events.next("joined", good.addresses[0]!);
    // The head answers its members in the order they registered: the good one is there, the impostor is not.
    const { conn, next } = await handDriver(head.address, TOKEN);
    conn.send(frameOf([T.Subscribe]));
    const h = readHeader(await next(), ANY_MESSAGE);
    conn.destroy();
    expect(h[0]).toBe(T.Members);
    const members = (h as [T.Members, string, { address: string }[]])[2].map((x) => x.address);
    expect(members).toEqual([good.addresses[0]]);
    expect(members).not.toContain(impostor.addresses[0]);
    expect(events.seen.some((e) => e.address === impostor.addresses[0])).toBe(false);
  });

  it("a malformed frame closes that connection only", async () => {
    const head = await procs.head();
    await procs.runners(head.address, 1);
    await using cluster = await driver(head.address);
    await liveRunners(cluster, 1);
    const { conn, next } = await handDriver(head.address, TOKEN);
    conn.send(frameOf([T.Call, 1, 1, "x", false])); // not a head's message
    await expect(next()).rejects.toThrow(/closed/);
    // The head still serves: a new subscriber hears the runner.
    const again = await handDriver(head.address, TOKEN);
    again.conn.send(frameOf([T.Subscribe]));
    const h = readHeader(await again.next(), ANY_MESSAGE);
    again.conn.destroy();
    expect(h.slice(0, 2)).toEqual([T.Members, "all"]);
    expect((h as [T.Members, string, unknown[]])[2]).toHaveLength(1);
  });
});

describe("a head over mutual TLS", () => {
  it("runners join and drivers subscribe over TLS; a client the head's CA did not sign is refused", async () => {
    const dir = await tempDir("strand-head-tls-");
    try {
      const pki = await makeTestPki(dir);
      const serverTls = { ...pki.runner, ca: pki.ca };
      const head = await startLocalHead({ token: TOKEN, tls: serverTls });
      const r = await startLocalRunners({ runners: 1, threads: 1, token: TOKEN, tls: serverTls, join: head.address });
      try {
        await using cluster = await Cluster.create({ runners: [], head: head.address, token: TOKEN, tls: { ...pki.client, ca: pki.ca }, logger: silentLogger() });
        await liveRunners(cluster, 1);
        const m = await cluster.import<F>(fixture("faults.ts"));
        expect(await m.square(7, 0)).toEqual({ value: 49, pid: r.processes[0]!.pid });
        const rogue = await rejectionOf(Cluster.create({ runners: [], head: head.address, token: TOKEN, tls: { ...pki.rogue, ca: pki.ca }, logger: silentLogger() }));
        expect(rogue).toBeInstanceOf(AuthError);
        const plain = await rejectionOf(driver(head.address));
        expect(plain).toBeInstanceOf(AuthError);
        expect((plain as Error).message).toMatch(/TLS required/);
      } finally {
        await Promise.all([r.stop(), head.stop()]);
      }
    } finally {
      await removeDir(dir);
    }
  });
});
