import { randomBytes } from "node:crypto";
import net from "node:net";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startLocalRunners } from "../src/driver/local.ts";
import { clientHandshake } from "../src/protocol/handshake.ts";
import { frameOf, PROTOCOL_VERSION, T, type Dep } from "../src/protocol/messages.ts";
import { Connection, dial, parseAddress } from "../src/transport/connection.ts";
import { encodeFrame } from "../src/transport/frames.ts";
import { Cluster, ProtocolError, RunnerDaemon, RunnerLostError } from "../src/index.ts";
import { closed, fixture, RawPeer, rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const frameBytes = (segments: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(encodeFrame(segments)));

describe("malformed input to a runner", () => {
  let address: string;
  let token: string;
  let n = 0;
  const t = useCluster<{ m: M }>(async (defer) => {
    const r = await startLocalRunners({ runners: 1, threads: 1 });
    defer(() => r.stop());
    address = r.addresses[0]!;
    token = r.token;
    return Cluster.create({ runners: r.addresses, token });
  }, { m: "math.ts" });

  /** The cluster's own connection keeps working, and it is the runner's only session. */
  async function stillServing(): Promise<void> {
    n++;
    expect(await t.m.add(n, 1)).toBe(n + 1);
    const [stats] = await t.cluster.runnerStats();
    expect(stats!.sessions).toBe(1);
    expect(t.cluster.runners[0]!.alive).toBe(true);
  }

  async function expectClosedAfter(bytes: Uint8Array[]): Promise<void> {
    await stillServing();
    const peer = await RawPeer.connect(address);
    for (const b of bytes) peer.write(b);
    await peer.closed();
    await stillServing();
  }

  it("garbage bytes: the runner closes that socket and keeps serving the cluster", async () => {
    await expectClosedAfter([new TextEncoder().encode("GET / HTTP/1.1\r\nHost: runner\r\n\r\n")]);
    await expectClosedAfter([Uint8Array.from({ length: 64 }, (_, i) => (0xdead + i * 97) & 0xff)]);
  });

  it("an oversized length prefix (0xffffffff), alone or after a valid Hello", async () => {
    await expectClosedAfter([u32(0xffffffff)]);
    await expectClosedAfter([frameBytes(frameOf([T.Hello, PROTOCOL_VERSION, new Uint8Array(32)])), u32(0xffffffff), new Uint8Array(100)]);
  });

  it("well-framed nonsense: a bad segment table, an undecodable header, no segments, a header that is not a message", async () => {
    await expectClosedAfter([u32(8), u32(0xffff_ffff), u32(0)]);
    await expectClosedAfter([frameBytes([Uint8Array.of(0xc1, 0xc1, 0xc1)])]);
    await expectClosedAfter([frameBytes([])]);
    await expectClosedAfter([frameBytes([Uint8Array.of(0xa5, ...new TextEncoder().encode("hello"))])]); // the msgpack string "hello"
  });

  // Regression: msgpackr's native string extractor checks lengths in 32-bit arithmetic; a
  // string announcing ~4 GiB wrapped around its check and crashed the runner (SIGSEGV, on
  // some reads of the same 25 bytes and not others: hence several).
  it("a header announcing a 4 GiB string, again and again: refused every time, the runner lives", async () => {
    const header = Uint8Array.of(0x92, 0x0a, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41); // [10, <str32 of 2^32-1 bytes>]
    for (let i = 0; i < 10; i++) await expectClosedAfter([frameBytes([header, Uint8Array.of(0x90)])]);
  });

  it("protocol messages out of turn: the runner refuses, then closes", async () => {
    for (const header of [
      frameOf([T.Call, 1, 1, "add", false], new Uint8Array([0x92, 1, 2])),
      frameOf([T.Auth, new Uint8Array(32)]),
      frameOf([T.Hello, PROTOCOL_VERSION + 99, new Uint8Array(32)]),
      frameOf([T.Hello, PROTOCOL_VERSION, new Uint8Array(3)]),
    ]) {
      await stillServing();
      const peer = await RawPeer.connect(address);
      peer.sendFrame(header);
      const reply = await peer.nextHeader();
      expect(reply[0]).toBe(T.Refused);
      await peer.closed();
      await stillServing();
    }
  });

  describe("after a successful handshake", () => {
    async function authenticated(): Promise<net.Socket> {
      const { host, port } = parseAddress(address);
      const socket = await dial(host, port);
      const conn = new Connection(socket);
      await clientHandshake(conn, token);
      socket.on("error", () => {});
      return socket;
    }

    async function expectSessionClosedAfter(bytes: Uint8Array): Promise<void> {
      await stillServing();
      const socket = await authenticated();
      const [stats] = await t.cluster.runnerStats();
      expect(stats!.sessions).toBe(2);
      socket.write(bytes);
      await closed(socket);
      await stillServing();
    }

    it("garbage, an oversized frame, an unknown message type, a malformed call", async () => {
      await expectSessionClosedAfter(new TextEncoder().encode("garbage after the handshake"));
      await expectSessionClosedAfter(u32(0xffffffff));
      await expectSessionClosedAfter(frameBytes(frameOf([99 as T.Heartbeat])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Call, 1, 12345, "add", false], new Uint8Array([0x90]))));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Hello, PROTOCOL_VERSION, new Uint8Array(32)])));
    });

    it("malformed object and owner messages: a put without a value, a fetch, free or pull with the wrong fields, an empty owner", async () => {
      await expectSessionClosedAfter(frameBytes(frameOf([T.Put, 1, "x.1"])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Fetch, 1, 42 as unknown as string])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Free, "x.1" as unknown as string[]])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Pull, 1, "x.1", 7 as unknown as string])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Owner, ""])));
    });

    it("fields of the wrong type close the session: a string id in Cancel or StatsRequest, numbers in Free", async () => {
      await expectSessionClosedAfter(frameBytes(frameOf([T.Cancel, "1" as unknown as number])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.StatsRequest, "x" as unknown as number])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.Free, [1, 2] as unknown as string[]])));
      await expectSessionClosedAfter(frameBytes(frameOf([T.ChanReply, 1, "yes" as unknown as boolean, 0, false])));
    });

    it("a call whose inputs do not add up: more inline segments than the frame has, an inline input of none, an input without an id", async () => {
      const declared = frameBytes(frameOf([T.Module, 1, "0".repeat(64)]));
      const call = (deps: Dep[]): Uint8Array => new Uint8Array(Buffer.concat([declared, frameBytes(frameOf([T.Call, 1, 1, "add", false, deps], new Uint8Array([0x90])))]));
      await expectSessionClosedAfter(call([["x.1", null, 1]]));
      await expectSessionClosedAfter(call([["x.1", null, 0]]));
      await expectSessionClosedAfter(call([[null as unknown as string, "127.0.0.1:1"]]));
    });

    it("a module declared under a name that is not a SHA-256 (e.g. a path) is refused", async () => {
      await expectSessionClosedAfter(frameBytes(frameOf([T.Module, 1, "../../../../etc/passwd"])));
    });
  });
});

/**
 * A fake runner on loopback (no token) that completes the handshake, then answers each
 * Call with `reply(callId, peer)`.
 */
async function fakeRunner(reply: (id: number, peer: RawPeer) => void): Promise<{ address: string; close: () => void }> {
  const peers: RawPeer[] = [];
  const server = net.createServer((socket) => {
    const peer = new RawPeer(socket);
    peers.push(peer);
    void (async () => {
      for (;;) {
        const h = await peer.nextHeader().catch(() => undefined);
        if (h === undefined) return;
        if (h[0] === T.Hello) peer.send([T.Challenge, PROTOCOL_VERSION, randomBytes(32), false]);
        else if (h[0] === T.Auth) peer.send([T.Welcome, { id: "fake", threads: 1, pid: 1, hostname: "fake", maxFrame: 1 << 20 }, new Uint8Array(0)]);
        else if (h[0] === T.Call) reply(h[1], peer);
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      for (const p of peers) p.destroy();
      server.close();
    },
  };
}

describe("malformed input from a runner", () => {
  it("an undecodable result rejects its call (it never hangs) and drops the runner", async () => {
    // The result body is a msgpack array of 3 cut short after one element.
    const fake = await fakeRunner((id, peer) => peer.send([T.Result, id, true, 0], Uint8Array.of(0x93, 0x01)));
    try {
      // waitForRunners 0: the next call fails at once rather than wait for the runner to be redialled.
      await using cluster = await Cluster.create({ runners: [fake.address], waitForRunners: 0 });
      const m = await cluster.import<M>(fixture("math.ts"));
      const err = await rejectionOf(m.add(1, 2));
      expect(err).toBeInstanceOf(ProtocolError);
      expect(cluster.runners[0]!.alive).toBe(false);
      await expect(m.add(1, 2)).rejects.toBeInstanceOf(RunnerLostError);
    } finally {
      fake.close();
    }
  });

  it("an oversized frame from a runner fails its in-flight calls with RunnerLostError", async () => {
    const fake = await fakeRunner((_id, peer) => peer.write(u32(0xffffffff)));
    try {
      await using cluster = await Cluster.create({ runners: [fake.address] });
      const m = await cluster.import<M>(fixture("math.ts"));
      const calls = [m.add(1, 2), m.add(3, 4)];
      for (const c of calls) expect(await rejectionOf(c)).toBeInstanceOf(RunnerLostError);
      expect(cluster.runners[0]!.alive).toBe(false);
    } finally {
      fake.close();
    }
  });
});


describe("before the handshake", () => {
  it("a peer without the token cannot make the runner allocate a big frame: a 64 KiB length prefix is refused", async () => {
    // The runner's log says why it dropped the socket.
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const daemon = await RunnerDaemon.start({ port: 0, threads: 1, token: "t", logger });
    try {
      const [host, port] = daemon.address.split(":");
      const s = net.connect({ host, port: Number(port) });
      await new Promise<void>((r) => s.once("connect", () => r()));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(64 * 1024);
      s.write(prefix);
      await new Promise<void>((r) => s.once("close", () => r()));
      expect(lines.join("\n")).toMatch(/frame length 65536 outside 4\.\.4096/);
      // The runner still serves a proper driver.
      await using cluster = await Cluster.create({ runners: [daemon.address], token: "t" });
      expect(cluster.runners[0]!.alive).toBe(true);
    } finally {
      await daemon.close();
    }
  });
});
