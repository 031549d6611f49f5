import { writeFile } from "node:fs/promises";
import type net from "node:net";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopOnClose } from "../src/driver/cluster.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { encodeValue } from "../src/protocol/codec.ts";
import { frameOf, PROTOCOL_VERSION, T } from "../src/protocol/messages.ts";
import { Cluster, type Remote } from "../src/index.ts";
import { fileAppears } from "./fixtures/fuzz-rank.ts";
import {
  concat, frameBytes, judge, judgePrefix, lengthPrefixes, nonce, rawFrame, segmentTables, u32, wrongHeaders, type Target, type Verdict,
} from "./fuzz-inputs.ts";
import { closed, fixture, handDriver, rawSocket, removeDir, tempDir } from "./helpers.ts";
import { listeningPorts, memoryOf } from "./proc.ts";

// Property-based inputs on fresh connections to a real runner process — its main port, a
// thread's lane and an SPMD rank's port, before and after a real handshake. Every input must
// end with that connection closed, while a separate driver connected to the same runner keeps
// getting right answers, no worker thread dies, and the runner's memory stays bounded.

type M = typeof import("./fixtures/math.ts");
type R = typeof import("./fixtures/fuzz-rank.ts");

const RUNS = 100;

describe.skipIf(process.platform !== "linux")("fuzzed frames against a real runner", () => {
  let token: string;
  let addresses: string[];
  /** Both runners: runs the SPMD job. Stops the runner processes when closed. */
  let all: Cluster;
  /** Connected to runner 0 only: its calls must keep succeeding throughout. */
  let healthy: Cluster;
  let m: Remote<M>;
  let pid: number;
  let memoryBefore: number;
  let calls = 0;

  beforeAll(async () => {
    process.env.STRAND_LOG ??= "error"; // the runner logs every refused peer as a warning
    const runners = await startLocalRunners({ runners: 2, threads: 1 });
    ({ token, addresses } = runners);
    all = await Cluster.create({ runners: addresses, token });
    stopOnClose(all, runners.stop);
    healthy = await Cluster.create({ runners: [addresses[0]!], token });
    m = await healthy.import<M>(fixture("math.ts"));
    while (healthy.runners[0]!.lanes.length < 1) await stillServing(); // its lane connects in the background
    pid = healthy.runners[0]!.pid;
    memoryBefore = memoryOf(pid).rss;
  });
  afterAll(async () => {
    await healthy.close();
    await all.close();
  });

  /** The healthy driver's calls (down its lane, once the module is known) are answered right. */
  async function stillServing(): Promise<void> {
    const n = ++calls;
    expect(await m.add(n, 1)).toBe(n + 1);
    expect(healthy.runners[0]!.alive).toBe(true);
  }

  const lane = (): string => `127.0.0.1:${healthy.runners[0]!.lanes[0]!}`;
  const targets: Target[] = [
    { name: "main port, before the handshake", address: () => addresses[0]!, handshake: false, listener: "runner" },
    { name: "main port, after the handshake", address: () => addresses[0]!, handshake: true, listener: "runner" },
    { name: "a thread's lane, before the handshake", address: lane, handshake: false, listener: "runner" },
    { name: "a thread's lane, after the handshake", address: lane, handshake: true, listener: "runner" },
  ];

  async function open(t: Target): Promise<net.Socket> {
    if (!t.handshake) {
      const socket = await rawSocket(t.address());
      socket.resume(); // read (and drop) a refusal: unread data would hold back the close
      return socket;
    }
    const { conn } = await handDriver(t.address(), token);
    return conn.socket;
  }

  /**
   * Sends `bytes` on a fresh connection. Unless they are malformed (then the runner must
   * close on its own), the test then closes its side; either way the connection must end.
   */
  async function expectClosed(t: Target, bytes: Uint8Array, verdict: Verdict): Promise<void> {
    const socket = await open(t);
    socket.write(bytes);
    if (verdict !== "malformed") socket.end();
    await closed(socket);
    await stillServing();
  }

  function check<A>(t: Target, arb: fc.Arbitrary<A>, send: (a: A) => { bytes: Uint8Array; verdict: Verdict }, runs = RUNS): Promise<void> {
    return fc.assert(fc.asyncProperty(arb, async (a) => {
      const { bytes, verdict } = send(a);
      await expectClosed(t, bytes, verdict);
    }), {
      numRuns: runs,
      // A shared runner: after a failure, later inputs prove nothing, so report the first one as it
      // came. A connection left open fails its input after 10 s (well past the handshake timeout).
      endOnFailure: true, timeout: 10_000,
    });
  }

  /** Streams of valid frames for a stage of the conversation, to be cut short. */
  function validStream(t: Target): Uint8Array {
    if (!t.handshake) return rawFrame([T.Hello, PROTOCOL_VERSION, nonce]);
    const hash = healthy.stats.modules[0]!.hash;
    const args = encodeValue([2, 3], "args");
    const big = encodeValue(new Float64Array(12_000), "value"); // ~96 KiB: a frame with a buffer of its own
    return concat(
      frameBytes(frameOf([T.Owner, "fuzz"])),
      frameBytes(frameOf([T.Module, 1, hash])),
      frameBytes(frameOf([T.Call, 1, 1, "add", false], args)),
      frameBytes(frameOf([T.Call, 2, 1, "echo", false], big)),
    );
  }

  describe.each(targets)("$name", (t) => {
    it("random bytes", () => check(t, fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => ({ bytes, verdict: judge(bytes, t) })));

    it("valid frames cut short at a random point, then closed", () => {
      const stream = validStream(t);
      return check(t, fc.nat(stream.byteLength - 1), (cut) => ({ bytes: stream.subarray(0, cut), verdict: "incomplete" }));
    });

    it("a valid length prefix before a random segment table", () => check(t, segmentTables, (bytes) => ({ bytes, verdict: judge(bytes, t) })));

    it("well-formed frames whose header has the wrong types, unknown message types, huge arrays or deep nesting", () =>
      check(t, wrongHeaders, (bytes) => ({ bytes, verdict: "malformed" }), RUNS * 2));

    it("length prefixes up to 2^32-1", () =>
      check(t, lengthPrefixes, ([prefix, tail]) => ({ bytes: concat(u32(prefix), tail), verdict: judgePrefix(prefix, tail, t) })));
  });

  it("an SPMD rank's port: the same inputs before and after the handshake; the job still finishes with the right results", async () => {
    const r = await all.import<R>(fixture("fuzz-rank.ts"));
    const dir = await tempDir();
    try {
      const before = new Set(listeningPorts(pid));
      const job = all.spmd(2, r.holdUntilGo, dir);
      await Promise.all([0, 1].map((rank) => fileAppears(path.join(dir, `ready-${rank}`))));
      const rankPorts = listeningPorts(pid).filter((p) => !before.has(p));
      expect(rankPorts).toHaveLength(1);
      for (const handshake of [false, true]) {
        const t: Target = { name: "rank", address: () => `127.0.0.1:${rankPorts[0]!}`, handshake, listener: "rank" };
        const runs = RUNS / 2;
        await check(t, fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => ({ bytes, verdict: judge(bytes, t) }), runs);
        await check(t, segmentTables, (bytes) => ({ bytes, verdict: judge(bytes, t) }), runs);
        await check(t, wrongHeaders, (bytes) => ({ bytes, verdict: "malformed" }), runs);
        await check(t, lengthPrefixes, ([prefix, tail]) => ({ bytes: concat(u32(prefix), tail), verdict: judgePrefix(prefix, tail, t) }), runs);
      }
      await writeFile(path.join(dir, "go"), "");
      expect(await job).toEqual([[3, 3], [3, 3]]);
    } finally {
      await removeDir(dir);
    }
  });

  it("afterwards: the runner kept its sessions and threads, and its memory stayed bounded", async () => {
    await stillServing();
    const [stats] = await healthy.runnerStats();
    expect(stats!.workerRestarts).toBe(0);
    expect(healthy.runners[0]!.pid).toBe(pid);
    // Every fuzzed session is gone (a runner closes a session as its socket closes; a FIN
    // we sent may still be on its way, so ask again until it has been read).
    for (let i = 0; i < 100 && (await healthy.runnerStats())[0]!.sessions > 2; i++);
    expect((await healthy.runnerStats())[0]!.sessions).toBe(2); // `healthy` and `all`
    // Length prefixes of up to 512 MiB made the runner allocate frame buffers it never
    // filled: its peak resident memory must not show them. Measured: +130-170 MB after these
    // ~2,800 connections, +210 MB after four times as many (two V8 heaps collected lazily);
    // a leak of 100 KB per connection would pass 300 MB.
    const { rss, peak } = memoryOf(pid);
    expect(peak - memoryBefore).toBeLessThan(300 * 1024 * 1024);
    expect(rss - memoryBefore).toBeLessThan(300 * 1024 * 1024);
  });
});
