import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION, T } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { AuthError, Cluster, RunnerDaemon, type Remote } from "../src/index.ts";
import { fixture, RawPeer, recordedSession, rejectionOf, silentLogger } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

describe("token authentication", () => {
  let secured: RunnerDaemon; // requires the token "right"
  let open: RunnerDaemon; // loopback, no token
  const daemons: RunnerDaemon[] = [];
  beforeAll(async () => {
    secured = await RunnerDaemon.start({ host: "127.0.0.1", port: 0, token: "right", threads: 1, logger: silentLogger() });
    open = await RunnerDaemon.start({ host: "127.0.0.1", port: 0, threads: 1, logger: silentLogger() });
    daemons.push(secured, open);
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.close(1000)));
  });

  it("a wrong token is refused with AuthError", async () => {
    const err = await rejectionOf(Cluster.create({ runners: [secured.address], token: "wrong" }));
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe("ERR_STRAND_AUTH");
    expect(secured.stats().sessions).toBe(0);
  });

  it("a missing token is refused with AuthError", async () => {
    const err = await rejectionOf(Cluster.create({ runners: [secured.address] }));
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/token/);
    expect(secured.stats().sessions).toBe(0);
  });

  it("the right token connects, and calls run", async () => {
    await using cluster = await Cluster.create({ runners: [secured.address], token: "right" });
    expect(cluster.runners).toHaveLength(1);
    expect(cluster.runners[0]!.alive).toBe(true);
    expect(secured.stats().sessions).toBe(1);
    const m: Remote<M> = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(20, 22)).toBe(42);
    const [stats] = await cluster.runnerStats();
    expect(stats!.calls).toBeGreaterThanOrEqual(1);
  });

  it("a failed attempt does not disturb a connected driver", async () => {
    await using cluster = await Cluster.create({ runners: [secured.address], token: "right" });
    const m = await cluster.import<M>(fixture("math.ts"));
    await expect(Cluster.create({ runners: [secured.address], token: "wrong" })).rejects.toBeInstanceOf(AuthError);
    expect(await m.add(1, 2)).toBe(3);
  });

  it("a driver with a token refuses a runner that does not check tokens", async () => {
    const err = await rejectionOf(Cluster.create({ runners: [open.address], token: "right" }));
    expect(err).toBeInstanceOf(AuthError);
    // Without a token, the loopback runner is fine.
    await using cluster = await Cluster.create({ runners: [open.address] });
    expect((await cluster.runnerStats())[0]!.sessions).toBe(1);
  });

  it("a runner refuses to listen on a non-loopback address without a token", async () => {
    await expect(RunnerDaemon.start({ host: "0.0.0.0", port: 0 })).rejects.toThrow(/token/);
    await expect(RunnerDaemon.start({ host: "0.0.0.0", port: 0, token: "" })).rejects.toThrow(/token/);
    // With one, it starts.
    const d = await RunnerDaemon.start({ host: "0.0.0.0", port: 0, token: "t", threads: 1, logger: silentLogger() });
    daemons.push(d);
    expect(d.address).toMatch(/^0\.0\.0\.0:\d+$/);
  });

  it("an Auth frame recorded from one connection is refused on another", async () => {
    // Record what a real driver sends during a successful handshake, through a relay.
    const frames = await recordedSession(secured.address, "right");
    const hello = frames.find((f) => readHeader(f, ANY_MESSAGE)[0] === T.Hello);
    const auth = frames.find((f) => readHeader(f, ANY_MESSAGE)[0] === T.Auth);
    expect(hello).toBeDefined();
    expect(auth).toBeDefined();

    // Replay both on a fresh connection: the runner's new nonce makes the old proof worthless.
    const peer = await RawPeer.connect(secured.address);
    peer.sendFrame(hello!);
    const challenge = await peer.nextHeader();
    expect(challenge[0]).toBe(T.Challenge);
    peer.sendFrame(auth!);
    const reply = await peer.nextHeader();
    expect(reply[0]).toBe(T.Refused);
    expect(reply[1]).toBe(AuthError.code);
    await peer.closed();
  });

  it("a driver refuses an impostor runner that cannot prove it holds the token, and never sends the token", async () => {
    const token = `tok-${randomBytes(12).toString("hex")}`;
    const received: Buffer[] = [];
    const types: number[] = [];
    const server = net.createServer((socket) => {
      const peer = new RawPeer(socket);
      socket.on("data", (d: Buffer) => received.push(d));
      void (async () => {
        for (;;) {
          const h = await peer.nextHeader().catch(() => undefined);
          if (h === undefined) return;
          types.push(h[0]);
          if (h[0] === T.Hello) peer.send([T.Challenge, PROTOCOL_VERSION, randomBytes(32), true]);
          else if (h[0] === T.Auth) peer.send([T.Welcome, { id: "fake", threads: 4, pid: 1, hostname: "fake", maxFrame: 1 << 20 }, randomBytes(32)]);
        }
      })();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const err = await rejectionOf(Cluster.create({ runners: [`127.0.0.1:${port}`], token }));
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toMatch(/prove/);
      // Only the handshake was sent: no module, code or call reached the impostor.
      expect(types).toEqual([T.Hello, T.Auth]);
      expect(Buffer.concat(received).includes(token)).toBe(false);
    } finally {
      server.close();
    }
  });
});
