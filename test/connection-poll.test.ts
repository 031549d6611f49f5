import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Connection } from "../src/transport/connection.ts";
import { encodeFrame } from "../src/transport/frames.ts";

// Connection.pollRead: a busy-polling reader (a bound SPMD rank) reads the socket itself,
// between the event loop's reads. Frames must come out whole and in order whichever reads
// brought their bytes, and a frame already handed over must never be written again (the
// event loop's next read lands where it was last told, which polling must not make stale).

const KiB = 1024;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed * 13 + (i >> 8)) & 0xff;
  return out;
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A connected pair over loopback: `a` writes, `b` reads. */
async function pair(): Promise<{ a: Connection; b: Connection }> {
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer(resolve);
    closers.push(() => server.close());
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => void resolveA(new Connection(s)));
    });
  });
  let resolveA!: (c: Connection) => void;
  const a = await new Promise<Connection>((r) => (resolveA = r));
  const b = new Connection(await accepted);
  closers.push(() => a.destroy(), () => b.destroy());
  return { a, b };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("Connection.pollRead", () => {
  it("frames read partly by polling and partly by the event loop arrive whole, in order, and stay intact", async () => {
    const { a, b } = await pair();
    const got: Uint8Array[][] = [];
    b.on("frame", (segs) => got.push(segs));
    // Sizes around the scratch buffer (64 KiB) and big frames of several socket reads.
    const sizes = [8, 3 * KiB, 64 * KiB - 20, 64 * KiB + 1, 300 * KiB, 5, 1024 * KiB + 3, 17, 2 * 1024 * KiB, 70 * KiB, 9];
    const sent = sizes.map((n, i) => [bytes(13, i), bytes(n, i + 1)]);
    const wire = Buffer.concat(sent.flatMap((f) => encodeFrame(f)));
    // The stream written in pieces of varied sizes (cutting frames anywhere), each read
    // before the next is written by polling, by the event loop, or by both in turn.
    const pieces = [1000, 40 * KiB, 100 * KiB, 7, 64 * KiB, 300 * KiB, 12 * KiB];
    let written = 0;
    let polled = 0;
    for (let round = 0; round < 3; round++) {
      for (let at = 0, k = round; at < wire.byteLength; k++) {
        const piece = wire.subarray(at, at + pieces[k % pieces.length]!);
        at += piece.byteLength;
        await new Promise<void>((r) => a.socket.write(piece, () => r()));
        written += piece.byteLength;
        const mode = k % 3;
        while (b.bytesIn < written) {
          if (mode === 0 || (mode === 2 && b.bytesIn % 2 === 0)) {
            const n = b.pollRead();
            expect(n).toBeGreaterThanOrEqual(0);
            polled += n;
            if (n === 0) await tick();
          } else {
            await tick();
          }
        }
      }
    }
    expect(polled).toBeGreaterThan(0);
    expect(got).toHaveLength(3 * sent.length);
    // Checked at the end: no later read (polled or not) wrote into an earlier frame.
    got.forEach((segs, k) => {
      const want = sent[k % sent.length]!;
      expect(segs.map((s) => s.byteLength)).toEqual(want.map((s) => s.byteLength));
      segs.forEach((s, j) => expect(Buffer.from(s).equals(Buffer.from(want[j]!))).toBe(true));
    });
  });

  it("returns 0 when nothing is there and -1 once the peer has closed", async () => {
    const { a, b } = await pair();
    expect(b.pollRead()).toBe(0);
    const closed = new Promise<void>((r) => b.on("close", () => r()));
    a.end();
    let n = 0;
    for (let i = 0; i < 10_000 && n === 0; i++) {
      n = b.pollRead();
      if (n === 0) await tick();
    }
    expect(n).toBe(-1);
    b.destroy();
    await closed;
    expect(b.pollRead()).toBe(0);
  });
});
