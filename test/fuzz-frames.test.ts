import { writeFile } from "node:fs/promises";
import type net from "node:net";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopOnClose } from "../src/driver/cluster.ts";
import { startLocalHead, type LocalHead } from "../src/driver/local-head.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { encodeValue } from "../src/protocol/codec.ts";
import { HEAD_HEARTBEAT } from "../src/protocol/heartbeat.ts";
import { frameOf, PROTOCOL_VERSION, T } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader, reads } from "../src/protocol/read-header.ts";
import { Cluster, type Remote } from "../src/index.ts";
import { fileAppears } from "./fixtures/fuzz-rank.ts";
import {
  concat, frameBytes, fuzzMember, judge, judgePrefix, lengthPrefixes, nonce, rawFrame, segmentTables, u32, wrongHeaders, type Target, type Verdict,
} from "./fuzz-inputs.ts";
import { closed, fixture, handDriver, rawSocket, removeDir, tempDir } from "./helpers.ts";
import { listeningPorts, memoryOf } from "./proc.ts";

// Property-based inputs on fresh connections to a real runner process — its main port, a
// thread's lane and an SPMD rank's port, before and after a real handshake — and to a real
// head's port. Every input must end with that connection closed, while a separate driver
// connected to the same runner keeps getting right answers, no worker thread dies, the
// runner's memory stays bounded, and the head keeps telling subscribers the runners it has.

type M = typeof import("./fixtures/math.ts");
type R = typeof import("./fixtures/fuzz-rank.ts");

const RUNS = 100;
const MEMBERS = reads("from a head", T.Members);
/**
 * A head closes a silent connection, one it wrongly waits on included, only after sending it
 * about this many heartbeats (9 or 10 seen): a malformed input must be closed well before.
 */
const HEAD_SILENCE_BEATS = HEAD_HEARTBEAT.timeoutMs / HEAD_HEARTBEAT.intervalMs;

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
  /** Runners 0 and 1 registered with it, with their token. */
  let head: LocalHead;

  beforeAll(async () => {
    process.env.STRAND_LOG ??= "error"; // the runner logs every refused peer as a warning
    head = await startLocalHead();
    const runners = await startLocalRunners({ runners: 2, threads: 1, token: head.token, join: head.address });
    ({ token, addresses } = runners);
    all = await Cluster.create({ runners: addresses, token });
    stopOnClose(all, async () => {
      await runners.stop();
      await head.stop();
    });
    await headLists(addresses[0]!, false); // the runner registers in the background
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

  /**
   * A real subscription to the head: its first Members message is the whole set. With
   * `now`, that set must name `address`; else read on until the runner has joined.
   */
  async function headLists(address: string, now = true): Promise<void> {
    const { conn, next } = await handDriver(head.address, token);
    try {
      conn.send(frameOf([T.Subscribe]));
      for (let first = true; ; first = false) {
        const [, change, members] = readHeader(await next(), MEMBERS);
        if (first) expect(change).toBe("all");
        // Other members may be listed: a fuzzed Join that is well-formed registers one.
        if (members.some((mb) => mb.address === address)) return;
        if (now) expect.fail(`the head's members ${JSON.stringify(members.map((mb) => mb.address))} lack ${address}`);
      }
    } finally {
      conn.destroy();
    }
  }

  /** After every input to the head: it still tells a new subscriber of the runner it has. */
  async function headServing(): Promise<void> {
    expect(head.process.exitCode).toBe(null);
    await headLists(addresses[0]!);
  }

  const lane = (): string => `127.0.0.1:${healthy.runners[0]!.lanes[0]!}`;
  const targets: Target[] = [
    { name: "main port, before the handshake", address: () => addresses[0]!, handshake: false, listener: "runner" },
    { name: "main port, after the handshake", address: () => addresses[0]!, handshake: true, listener: "runner" },
    { name: "a thread's lane, before the handshake", address: lane, handshake: false, listener: "runner" },
    { name: "a thread's lane, after the handshake", address: lane, handshake: true, listener: "runner" },
  ];
  const headTargets: Target[] = [
    { name: "a head's port, before the handshake", address: () => head.address, handshake: false, listener: "head" },
    { name: "a head's port, after the handshake", address: () => head.address, handshake: true, listener: "head" },
  ];

  /** A fresh connection to `t`; after the handshake, `beats` counts the heartbeats it has brought. */
  async function open(t: Target): Promise<{ socket: net.Socket; beats: () => number }> {
    if (!t.handshake) {
      const socket = await rawSocket(t.address());
      socket.resume(); // read (and drop) a refusal: unread data would hold back the close
      return { socket, beats: () => 0 };
    }
    const { conn } = await handDriver(t.address(), token);
    let beats = 0;
    conn.on("frame", (segs) => void (readHeader(segs, ANY_MESSAGE)[0] === T.Heartbeat && beats++));
    return { socket: conn.socket, beats: () => beats };
  }

  /**
   * Sends `bytes` on a fresh connection. Unless they are malformed (then the runner must
   * close on its own), the test then closes its side; either way the connection must end.
   */
  async function expectClosed(t: Target, bytes: Uint8Array, verdict: Verdict): Promise<void> {
    const { socket, beats } = await open(t);
    socket.write(bytes);
    if (verdict !== "malformed") socket.end();
    await closed(socket);
    // Closed for the input, not as silent: else a head that waited for more would pass.
    if (verdict === "malformed" && t.listener === "head") expect(beats()).toBeLessThan(HEAD_SILENCE_BEATS / 2);
    await (t.listener === "head" ? headServing() : stillServing());
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
    if (t.listener === "head") {
      // A runner's conversation: register (a member no one else is), heartbeat, leave.
      return concat(frameBytes(frameOf([T.Join, fuzzMember])), frameBytes(frameOf([T.Heartbeat])), frameBytes(frameOf([T.Leave])));
    }
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

  describe.each([...targets, ...headTargets])("$name", (t) => {
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

  it("afterwards: the head is alive and still lists the runner that registered", async () => {
    expect(head.process.exitCode).toBe(null);
    expect(head.process.signalCode).toBe(null);
    await headLists(addresses[0]!);
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
