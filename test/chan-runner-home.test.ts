import { describe, expect, it } from "vitest";
import { chan } from "../src/runtime.ts";
import { ChannelClosedError, select, type Chan } from "../src/index.ts";
import { rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/runner-chans.ts");
type Made = { ch: Chan<unknown>; at: { pid: number; thread: number } };

describe("a channel made on a runner (chan() in a remote function), used by the driver", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 2 }, { m: "runner-chans.ts" });

  it("its id names the runner thread's lane; the driver sends and receives on it", async () => {
    const { ch } = (await t.m.makeChan(0)) as Made;
    expect(ch.id).toMatch(/^@127\.0\.0\.1:\d+\/[0-9a-f]+\.c\d+$/);
    expect(ch.capacity).toBe(0);
    const remote = t.m.recvOne(ch);
    await ch.send("hello");
    expect((await remote).r).toBe("hello");
    const sending = t.m.sendOne(ch, "back");
    expect(await ch.recv()).toEqual({ value: "back", done: false });
    await sending;
  });

  it("travels as an SPMD argument: every rank sends on it", async () => {
    const { ch } = (await t.m.makeChan(8)) as Made;
    expect(await t.cluster.spmd(4, t.m.rankSends, ch as Chan<number>)).toEqual([0, 1, 2, 3]);
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await ch.recv()).value);
    expect(got.sort()).toEqual([0, 1, 2, 3]);
  });

  it("unbuffered: a send is ready only with a receiver waiting (select with default says so)", async () => {
    const { ch } = (await t.m.makeChan(0)) as Made;
    expect(await select([{ send: ch, value: 1 }], { default: true })).toEqual({ index: -1 });
    expect(await select([{ recv: ch }], { default: true })).toEqual({ index: -1 });
    const receiving = t.m.recvOne(ch);
    // Once the runner's receive waits at the home, the driver's send meets it.
    await ch.send(7);
    expect((await receiving).r).toBe(7);
  });

  it("buffered: sends complete while there is room, then are not ready; len counts the buffer", async () => {
    const { ch } = (await t.m.makeChan(2)) as Made;
    await ch.send(1);
    await ch.send(2);
    expect(await ch.length).toBe(2);
    expect(await select([{ send: ch, value: 3 }], { default: true })).toEqual({ index: -1 });
    const third = ch.send(3);
    expect((await t.m.recvOne(ch)).r).toBe(1);
    await third;
    expect([(await ch.recv()).value, (await ch.recv()).value]).toEqual([2, 3]);
    expect(await ch.length).toBe(0);
  });

  it("close: buffered values drain, then receives are done; send on closed and double close throw ChannelClosedError", async () => {
    const { ch } = (await t.m.makeChan(4)) as Made;
    await ch.send("a");
    expect(await t.m.closeIt(ch)).toBe("closed");
    expect(await ch.recv()).toEqual({ value: "a", done: false });
    expect(await ch.recv()).toEqual({ value: undefined, done: true });
    expect((await t.m.recvOne(ch)).r).toBe("closed");
    expect(await rejectionOf(ch.send("b"))).toBeInstanceOf(ChannelClosedError);
    expect(await rejectionOf(ch.close())).toBeInstanceOf(ChannelClosedError);
  });

  it("a select mixing a runner-made channel with a driver-made one throws a TypeError at the call", async () => {
    const { ch } = (await t.m.makeChan(1)) as Made;
    const mine = t.cluster.chan<unknown>(1);
    const err = await rejectionOf(select([{ recv: ch }, { recv: mine }]));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/different homes/);
    // Over channels of one runner thread, select works on the driver as on the runner.
    await ch.send("x");
    expect(await select([{ recv: ch }, { recv: ch }])).toMatchObject({ value: "x" });
    expect(await t.m.selectHere()).toEqual([1, "b", 0, 0]);
  });

  it("chan() outside a runner thread throws a TypeError that points to cluster.chan", () => {
    expect(() => chan(1)).toThrow(TypeError);
    expect(() => chan(1)).toThrow(/cluster\.chan/);
  });

  it("a bad capacity throws RangeError on the runner", async () => {
    expect(await t.m.makeOnDriverFails(-1)).toMatch(/^RangeError/);
  });

  it("a runner-made channel travels inside values over another channel and is used where it arrives", async () => {
    const carrier = t.cluster.chan<Chan<number>>(1);
    const home = t.m.makeAndDrain(carrier, 3);
    const ch = (await carrier.recv()).value!;
    const sender = t.m.sendAll(ch, 10, 3);
    expect(await home).toEqual([10, 11, 12]);
    await sender;
  });
});

describe("a channel made on a runner, used by another thread of the same runner and by another runner", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 2, retries: 0 }, { m: "runner-chans.ts" });

  it("threads and runners meet on it with Go's semantics, and its home answers its own thread locally", async () => {
    const out = t.cluster.chan<Made>();
    const release = t.cluster.chan<unknown>();
    const holder = t.m.makeAndHold.go(out as never, 0, release as never);
    const { ch, at: home } = (await out.recv()).value!;
    // Unbuffered, between two other places: each send meets one receive.
    const receivers = [0, 1, 2].map(() => t.m.recvOne(ch));
    const senders = [0, 1, 2].map((i) => t.m.sendOne(ch, i));
    const got = await Promise.all(receivers);
    const sentFrom = await Promise.all(senders);
    expect(got.map((g) => g.r).sort()).toEqual([0, 1, 2]);
    const places = new Set([...got.map((g) => g.at), ...sentFrom].map((w) => `${w.pid}/${w.thread}`));
    // Other threads of the home's runner and threads of the other runner took part.
    expect([...places].some((p) => p.startsWith(`${home.pid}/`) && p !== `${home.pid}/${home.thread}`)).toBe(true);
    expect([...places].some((p) => !p.startsWith(`${home.pid}/`))).toBe(true);
    await release.send("go");
    expect(await holder.result).toEqual(home);
  });
});
