import net from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LANE_READS as DRIVER_LANE_READS } from "../src/driver/link/lane.ts";
import { LINK_READS } from "../src/driver/link/runner-link.ts";
import { ObjectLostError, ProtocolError } from "../src/errors.ts";
import { decodeError, encodeValue } from "../src/protocol/codec.ts";
import { clientHandshake, serverHandshake } from "../src/protocol/handshake.ts";
import { DEFAULT_HEARTBEAT, startHeartbeat } from "../src/protocol/heartbeat.ts";
import { frameOf, PROTOCOL_VERSION, T, type Header } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader, reads, type Reads } from "../src/protocol/read-header.ts";
import { RunnerDaemon } from "../src/runner/daemon.ts";
import { LANE_READS as RUNNER_LANE_READS } from "../src/runner/lane.ts";
import { PEER_READS } from "../src/runner/peers.ts";
import { SESSION_READS } from "../src/runner/session.ts";
import { RemoteLinks } from "../src/runner/spmd/remote-links.ts";
import type { Envelope } from "../src/runner/spmd/mailbox.ts";
import { Connection, dial } from "../src/transport/connection.ts";
import { Cluster } from "../src/index.ts";
import { handDriver, silentLogger } from "./helpers.ts";
import { badHeaders, INFO, nonce, withField } from "./message-samples.ts";

// Every side that reads headers (runner main port and lanes, driver link and lanes, peer
// runner links, SPMD rank links, the handshake) refuses one that does not fit the message
// table by closing that connection, and only that one.

/** Resolves when `conn` closes. */
const closedConn = (conn: Connection): Promise<void> => new Promise((resolve) => conn.on("close", () => resolve()));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Fake {
  address: string;
  port: number;
  close(): void;
}

/** A runner made by hand: it completes the handshake (no token), heartbeats, then hands each connection to `serve`. */
async function fakeRunner(serve: (conn: Connection) => void): Promise<Fake> {
  const conns = new Set<Connection>();
  const server = net.createServer((socket) => {
    const conn = new Connection(socket);
    conns.add(conn);
    serverHandshake(conn, undefined, INFO).then(() => {
      const stop = startHeartbeat(conn, DEFAULT_HEARTBEAT, () => {});
      conn.on("close", () => stop());
      serve(conn);
    }, () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    close: () => {
      for (const c of conns) c.destroy();
      server.close();
    },
  };
}

describe("every side closes the connection a header that does not fit came on, and only that one", () => {
  let daemon: RunnerDaemon;
  /** The runner's warnings: a session it drops says why. */
  const log: string[] = [];
  beforeAll(async () => {
    daemon = await RunnerDaemon.start({ host: "127.0.0.1", port: 0, threads: 1, logger: pino({ level: "warn" }, { write: (line: string) => void log.push(line) }) });
  });
  afterAll(() => daemon.close());

  /** A driver session on the runner that must keep being served: it asks for stats and gets them. */
  async function bystander(): Promise<{ check: () => Promise<void>; close: () => void }> {
    const { conn, next } = await handDriver(daemon.address);
    let id = 0;
    return {
      check: async () => {
        conn.send(frameOf([T.StatsRequest, ++id]));
        expect(readHeader(await next(), ANY_MESSAGE).slice(0, 2)).toEqual([T.Stats, id]);
      },
      close: () => conn.destroy(),
    };
  }

  /** Each bad header on a fresh connection to `address`: it closes, the bystander is still served; `logged`: the runner said why. */
  async function refusedBy(address: string, reading: Reads<T>, logged: boolean): Promise<void> {
    const other = await bystander();
    try {
      for (const { what, header, error } of badHeaders(reading)) {
        const { conn } = await handDriver(address);
        const gone = closedConn(conn);
        conn.send(frameOf(header, Uint8Array.of(0x01)));
        await gone;
        if (logged) expect(log.join("\n"), what).toContain(error);
        await other.check();
      }
    } finally {
      other.close();
    }
  }

  it("the runner's main port: every message it takes", () => refusedBy(daemon.address, SESSION_READS, true));

  it("a runner thread's lane: every message it takes; another driver's lane stays", async () => {
    await using cluster = await Cluster.create({ runners: [daemon.address], reconnect: false, logger: silentLogger() });
    await until(() => cluster.runners[0]!.lanes.length === 1, "the lane");
    const lane = `127.0.0.1:${cluster.runners[0]!.lanes[0]!}`;
    await refusedBy(lane, RUNNER_LANE_READS, false);
    expect(cluster.runners[0]!.lanes).toHaveLength(1);
    expect(cluster.runners[0]!.alive).toBe(true);
  });

  it("a driver's link to a runner: every message it takes; its other runner stays", async () => {
    for (const { what, header, error } of badHeaders(LINK_READS)) {
      let bad: Connection | undefined;
      let good: Connection | undefined;
      const badRunner = await fakeRunner((c) => (bad = c));
      const goodRunner = await fakeRunner((c) => (good = c));
      const driverLog: string[] = [];
      try {
        await using cluster = await Cluster.create({
          runners: [badRunner.address, goodRunner.address], reconnect: false, logger: pino({ level: "error" }, { write: (line: string) => void driverLog.push(line) }),
        });
        await until(() => bad !== undefined && good !== undefined, "both links");
        let goodClosed = false;
        good!.on("close", () => (goodClosed = true));
        const gone = closedConn(bad!);
        bad!.send(frameOf(header, Uint8Array.of(0x01)));
        await gone;
        await until(() => cluster.runners.find((r) => r.address === badRunner.address)?.alive === false, `${what}: the link to drop`);
        expect(driverLog.join("\n"), what).toContain(error);
        expect(cluster.runners.find((r) => r.address === goodRunner.address)?.alive, what).toBe(true);
        expect(goodClosed, what).toBe(false);
      } finally {
        badRunner.close();
        goodRunner.close();
      }
    }
  });

  it("a driver's lane to a runner thread: every message it takes; the link and its main connection stay", async () => {
    let main: Connection | undefined;
    let lane: Connection | undefined;
    const laneServer = await fakeRunner((c) => (lane = c));
    const runner = await fakeRunner((c) => (main = c));
    try {
      await using cluster = await Cluster.create({ runners: [runner.address], reconnect: false, logger: silentLogger() });
      await until(() => main !== undefined, "the link");
      let mainClosed = false;
      main!.on("close", () => (mainClosed = true));
      for (const { what, header } of badHeaders(DRIVER_LANE_READS)) {
        lane = undefined;
        main!.send(frameOf([T.Lanes, [laneServer.port]]));
        await until(() => lane !== undefined && cluster.runners[0]!.lanes.includes(laneServer.port), `${what}: the lane`);
        const gone = closedConn(lane!);
        lane!.send(frameOf(header, Uint8Array.of(0x01)));
        await gone;
        await until(() => cluster.runners[0]!.lanes.length === 0, `${what}: the lane to drop`);
        expect(cluster.runners[0]!.alive, what).toBe(true);
        expect(mainClosed, what).toBe(false);
      }
    } finally {
      laneServer.close();
      runner.close();
    }
  });

  it("a runner's link to a peer runner it fetches from: every message it takes; the fetch fails, the driver's session stays", async () => {
    const cases = badHeaders(PEER_READS);
    let n = 0;
    // Answers the runner's Fetch with the next bad header.
    const peer = await fakeRunner((conn) => {
      const { header } = cases[n++]!;
      conn.on("frame", (segs) => {
        if (readHeader(segs, ANY_MESSAGE)[0] === T.Fetch) conn.send(frameOf(header, encodeValue(1, "v")));
      });
    });
    try {
      const { conn, next } = await handDriver(daemon.address);
      conn.send(frameOf([T.Owner, "mt"]));
      for (const [i, { what, error }] of cases.entries()) {
        conn.send(frameOf([T.Pull, i + 1, `mt.${i}`, peer.address]));
        const done = await next();
        expect(readHeader(done, ANY_MESSAGE).slice(0, 3), what).toEqual([T.Done, i + 1, false]);
        const err = decodeError(done.slice(1));
        expect(err, what).toBeInstanceOf(ObjectLostError);
        expect(err.message, what).toContain(error);
      }
      conn.destroy();
    } finally {
      peer.close();
    }
  });

  it("an SPMD rank's link from another rank: its hello, then its messages; other ranks' links stay", async () => {
    const delivered: Envelope[] = [];
    const lost: [number, string][] = [];
    const links = await RemoteLinks.listen("job", 0, 3, { host: "127.0.0.1", token: undefined, tls: undefined, maxFrame: 1 << 20, maxConnections: 64, info: INFO }, {
      deliver: (m) => delivered.push(m),
      lost: (rank, err) => lost.push([rank, err.message]),
    });
    const rank = async (): Promise<Connection> => {
      const conn = new Connection(await dial("127.0.0.1", links.port));
      await clientHandshake(conn, undefined);
      return conn;
    };
    try {
      // Rank 2 says hello and sends a message after each bad connection.
      const steady = await rank();
      let steadyClosed = false;
      steady.on("close", () => (steadyClosed = true));
      steady.send(frameOf([T.RankHello, "job", 2]));
      let sent = 0;
      const steadySends = async (): Promise<void> => {
        steady.send([...frameOf([T.RankMessage, "w:p", ++sent]), ...segmentsOf(sent)]);
        await until(() => delivered.length === sent, "rank 2's message");
      };
      await steadySends();

      const hellos: Header[] = [
        ...badHeaders(reads("", T.RankHello)).map((c) => c.header),
        [T.RankHello, "another job", 1], [T.RankHello, "job", 3], [T.RankMessage, "w:p", 1],
      ];
      for (const hello of hellos) {
        const conn = await rank();
        const gone = closedConn(conn);
        conn.send(frameOf(hello));
        await gone;
        await steadySends();
      }
      expect(lost).toEqual([]); // none of them had said which rank it was

      for (const { what, header, error } of badHeaders(reads("", T.RankMessage))) {
        const conn = await rank();
        const gone = closedConn(conn);
        conn.send(frameOf([T.RankHello, "job", 1]));
        conn.send([...frameOf(header), ...segmentsOf(0)]);
        await gone;
        await until(() => lost.length > 0, `${what}: rank 1 lost`);
        const [who, why] = lost.pop()!;
        expect(who, what).toBe(1);
        expect(why, what).toContain(error);
        await steadySends();
      }
      expect(steadyClosed).toBe(false);
      expect(delivered.map((m) => m.source)).toEqual(new Array<number>(sent).fill(2));
      steady.destroy();
    } finally {
      links.close();
    }
  });

  it("the handshake: a dialer refuses a Welcome whose runner info does not fit", async () => {
    const server = net.createServer((socket) => {
      const conn = new Connection(socket);
      conn.on("frame", (segs) => {
        const h = readHeader(segs, ANY_MESSAGE);
        if (h[0] === T.Hello) conn.send(frameOf([T.Challenge, PROTOCOL_VERSION, nonce, false]));
        if (h[0] === T.Auth) conn.send(frameOf(withField(T.Welcome, 1, { ...INFO, threads: "one" })));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const conn = new Connection(await dial("127.0.0.1", (server.address() as net.AddressInfo).port));
      const err = await clientHandshake(conn, undefined).then(() => undefined, (e: unknown) => e);
      expect(err).toEqual(new ProtocolError("malformed Welcome: info is not runner info"));
    } finally {
      server.close();
    }
  });
});

/** An encoded value's segments (a rank message's payload). */
function segmentsOf(v: unknown): Uint8Array[] {
  const { body, attachments } = encodeValue(v, "v");
  return [body, ...attachments];
}
