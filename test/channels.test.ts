import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import {
  CancelledError, ChannelBrokenError, ChannelClosedError, local, select, TimeoutError, type Chan, type Cluster, type Goroutine,
} from "../src/index.ts";
import { fixture, rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Chans = typeof import("./fixtures/chans.ts");

/** Lets every message already sent between driver and runners be handled, without sleeping. */
async function settle(cluster: Cluster): Promise<void> {
  await cluster.runnerStats();
  await cluster.runnerStats();
}

describe("channels: Go semantics", () => {
  const t = useCluster<{ m: Chans }>({ runners: 2, threads: 2 }, { m: "chans.ts" });

  it("unbuffered: a send completes only when a receiver (here on a runner) takes the value", async () => {
    const ch = t.cluster.chan<string>();
    let sent = false;
    const send = ch.send("hello").then(() => (sent = true));
    await settle(t.cluster);
    expect(sent).toBe(false);
    expect(t.cluster.stats.channels.find((c) => c.id === ch.id)?.waitingSenders).toBe(1);
    expect(await t.m.recvOne(ch)).toBe("hello");
    await send;
    expect(sent).toBe(true);
    // And the other way: a runner's send waits for the driver's receive.
    const remote = t.m.sendOne(ch, "back");
    expect(await ch.recv()).toEqual({ value: "back", done: false });
    expect(await remote).toBe("sent");
  });

  it("a thread's channel operations go over its own connection to the home (its lane), not through the runner's main thread", async () => {
    const ch = t.cluster.chan<number>(8);
    const before = (await t.cluster.runnerStats()).reduce((s, r) => s + r.channelOpsRelayed, 0);
    const producer = t.m.produce(ch, 0, 50);
    for (let i = 0; i < 50; i++) expect((await ch.recv()).value).toBe(i);
    await producer;
    const after = (await t.cluster.runnerStats()).reduce((s, r) => s + r.channelOpsRelayed, 0);
    expect(after - before).toBe(0);
  });

  it("buffered: sends complete while there is room, then block until a receive frees a slot", async () => {
    const ch = t.cluster.chan<number>(2);
    await ch.send(1);
    await ch.send(2);
    let third = false;
    const p = ch.send(3).then(() => (third = true));
    await settle(t.cluster);
    expect(third).toBe(false);
    expect(await ch.recv()).toEqual({ value: 1, done: false });
    await p;
    expect([await ch.recv(), await ch.recv()].map((r) => r.value)).toEqual([2, 3]);
  });

  it("close: buffered values drain, then receives are done; send on closed and double close throw ChannelClosedError", async () => {
    const ch = t.cluster.chan<number>(4);
    await ch.send(7);
    const blockedRecv = t.cluster.chan<number>();
    const waiting = blockedRecv.recv();
    await ch.close();
    await blockedRecv.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await ch.recv()).toEqual({ value: 7, done: false });
    expect(await ch.recv()).toEqual({ value: undefined, done: true });
    expect(await rejectionOf(ch.send(1))).toBeInstanceOf(ChannelClosedError);
    expect(await rejectionOf(ch.close())).toBeInstanceOf(ChannelClosedError);
    // On a runner too: the remote function's send rejects with ChannelClosedError.
    expect(await rejectionOf(t.m.sendOne(ch as Chan<unknown>, 1))).toBeInstanceOf(ChannelClosedError);
    expect(await t.m.recvOne(ch as Chan<unknown>)).toBe("closed");
  });

  it("a closed, drained channel leaves only its id behind; it still answers as a closed channel", async () => {
    const before = t.cluster.stats.channels.length;
    const chans = Array.from({ length: 20 }, () => t.cluster.chan<number>(1));
    for (const ch of chans) {
      await ch.send(1);
      await ch.close();
      expect(await t.m.recvOne(ch as Chan<unknown>)).toBe(1);
    }
    expect(t.cluster.stats.channels.length).toBe(before);
    expect(await chans[0]!.recv()).toEqual({ value: undefined, done: true });
    expect(await t.m.recvOne(chans[1] as Chan<unknown>)).toBe("closed");
    expect(await rejectionOf(chans[2]!.send(1))).toBeInstanceOf(ChannelClosedError);
    expect(await rejectionOf(chans[3]!.close())).toBeInstanceOf(ChannelClosedError);
  });

  it("operations that complete at once leave no listener on their AbortSignal", async () => {
    const ch = t.cluster.chan<number>(100);
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) await ch.send(i, { signal: ac.signal });
    for (let i = 0; i < 20; i++) await ch.recv({ signal: ac.signal });
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("close fails senders blocked on a full channel with ChannelClosedError", async () => {
    const ch = t.cluster.chan<number>();
    const blocked = ch.send(1);
    await settle(t.cluster);
    await ch.close();
    expect(await rejectionOf(blocked)).toBeInstanceOf(ChannelClosedError);
  });

  it("values keep their types, and channels travel inside values (a channel sent over a channel)", async () => {
    const ch = t.cluster.chan<unknown>(1);
    const v = { big: 2n ** 70n, m: new Map([[1, new Set(["a"])]]), f: new Float64Array([1.5, NaN]) };
    const echoed = t.m.recvOne(ch);
    await ch.send(v);
    expect(await echoed).toStrictEqual(v);

    const carrier = t.cluster.chan<Chan<string>>(1);
    const reply = t.cluster.chan<string>(1);
    const relay = t.m.relayVia(carrier, "via a runner");
    await carrier.send(reply);
    expect(await reply.recv()).toEqual({ value: "via a runner", done: false });
    expect(await relay).toBe("relayed");
  });

  it("per-sender order is kept; many producers and consumers on different runners lose and duplicate nothing", async () => {
    const ordered = t.cluster.chan<number>(8);
    const producer = t.m.produce(ordered, 0, 300);
    const seen: number[] = [];
    for (let i = 0; i < 300; i++) seen.push((await ordered.recv()).value!);
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await producer;

    const ch = t.cluster.chan<number>(16);
    const producers = [0, 1, 2, 3].map((k) => t.m.produce(ch, k * 1000, 250));
    const consumers = [0, 1, 2].map(() => t.m.drainOrdered(ch));
    await Promise.all(producers);
    await ch.close();
    const got = await Promise.all(consumers);
    const expectedSum = [0, 1, 2, 3].reduce((s, k) => s + 250 * k * 1000 + (249 * 250) / 2, 0);
    expect(got.reduce((s, g) => s + g.n, 0)).toBe(1000);
    expect(got.reduce((s, g) => s + g.sum, 0)).toBe(expectedSum);
    // Each consumer saw each producer's values in the order they were sent.
    expect(got.map((g) => g.outOfOrder)).toEqual([0, 0, 0]);
  });

  it("big values go from the sending runner to the receiving one directly; the home passes only their address", async () => {
    const ch = t.cluster.chan<Float64Array>(2);
    const size = 100_000; // 800 KB a value
    const traffic = (): number => t.cluster.runners.reduce((s, r) => s + r.bytesSent + r.bytesReceived, 0);
    const before = traffic();
    const stats0 = await t.cluster.runnerStats();
    const consumer = t.m.sumArrays(ch);
    const producer = t.m.produceBig(ch, 10, size);
    await producer;
    await ch.close();
    expect(await consumer).toEqual({ n: 10, sum: size * 45 });
    expect(traffic() - before).toBeLessThan(size * 8); // 8 MB moved; well under one value via the driver
    const stats = await t.cluster.runnerStats();
    // Goroutines go to the least loaded runner: consumer and producer ran on different ones,
    // so every value crossed runner to runner, once.
    expect(stats.reduce((s, r, i) => s + r.objectFetches - stats0[i]!.objectFetches, 0)).toBe(10);
    expect(stats.reduce((s, r) => s + r.objects, 0)).toBe(0); // every value was taken, none left
    // The driver can receive a big value from a runner, and send one to a runner.
    const back = t.cluster.chan<Float64Array>(1);
    const sent = t.m.produceBig(back, 1, size);
    expect((await back.recv()).value).toEqual(new Float64Array(size).fill(0));
    await sent;
    const there = t.m.sumArrays(back);
    await back.send(new Float64Array(size).fill(2));
    await back.close();
    expect(await there).toEqual({ n: 1, sum: 2 * size });
  });

  it("send credits: a remote sender's unused credits are taken back when someone else must send, or the channel closes", async () => {
    const ch = t.cluster.chan<number>(4);
    expect(await t.m.produce(ch, 0, 1)).toBe(1); // one send; its answer may grant credits for more
    // The producer returned holding credits: the driver's sends must still find room.
    for (let i = 1; i < 4; i++) await ch.send(i);
    const s = t.cluster.stats.channels.find((c) => c.id === ch.id)!;
    expect(s.buffered).toBe(4);
    expect(s.reserved).toBe(0);
    // And a close with credits out still ends in `done` once the buffer is drained.
    const again = t.cluster.chan<number>(8);
    expect(await t.m.produce(again, 0, 2)).toBe(2);
    await again.close();
    const got: number[] = [];
    for await (const v of again) got.push(v);
    expect(got).toEqual([0, 1]);
  });

  it("backpressure: a fast remote producer never has more than the capacity buffered at the home", async () => {
    const ch = t.cluster.chan<number>(4);
    const producer = t.m.produce(ch, 0, 200);
    let maxBuffered = 0;
    let maxSenders = 0;
    for (let i = 0; i < 200; i++) {
      await settle(t.cluster); // a slow consumer: the producer runs ahead as far as it can
      const s = t.cluster.stats.channels.find((c) => c.id === ch.id)!;
      maxBuffered = Math.max(maxBuffered, s.buffered);
      maxSenders = Math.max(maxSenders, s.waitingSenders);
      expect((await ch.recv()).value).toBe(i);
    }
    await producer;
    expect(maxBuffered).toBe(4);
    expect(maxSenders).toBe(1);
  });
});

describe("channels kept for later", () => {
  it("a remote function may store a channel and use it in a later call", async () => {
    await using cluster = await local({ runners: 1, threads: 1 }); // one thread: module state is per thread
    const m = await cluster.import<Chans>(fixture("chans.ts"));
    const ch = cluster.chan<string>(1);
    expect(await m.stash(ch)).toBe("kept");
    expect(await m.sendOnStashed("later")).toBe("sent");
    expect(await ch.recv()).toEqual({ value: "later", done: false });
  });
});

describe("select", () => {
  const t = useCluster<{ m: Chans }>({ runners: 1, threads: 2 }, { m: "chans.ts" });

  it("runs exactly one ready case, chosen fairly among the ready ones", async () => {
    const a = t.cluster.chan<string>(2000);
    const b = t.cluster.chan<string>(2000);
    for (let i = 0; i < 2000; i++) {
      await a.send("a");
      await b.send("b");
    }
    const counts = [0, 0];
    for (let i = 0; i < 2000; i++) {
      const r = await select([{ recv: a as Chan<unknown> }, { recv: b as Chan<unknown> }]);
      counts[r.index]!++;
      expect(r.value).toBe(r.index === 0 ? "a" : "b");
    }
    // Binomial(2000, 1/2): 1000 ± 22 (1 sd); 150 is ~7 sd, so a fair select never fails here.
    expect(Math.abs(counts[0]! - 1000)).toBeLessThan(150);
    const left = t.cluster.stats.channels.filter((c) => c.id === a.id || c.id === b.id).reduce((s, c) => s + c.buffered, 0);
    expect(left).toBe(2000); // exactly one case ran each time
  });

  it("sends and receives mix; default runs when nothing is ready; timeout and signal end a wait", async () => {
    const full = t.cluster.chan<number>(1);
    await full.send(1);
    const empty = t.cluster.chan<number>(1);
    expect(await select([{ recv: empty as Chan<unknown> }, { send: full as Chan<unknown>, value: 2 }], { default: true })).toEqual({ index: -1 });
    const r = await select([{ recv: empty as Chan<unknown> }, { send: empty as Chan<unknown>, value: 5 }]);
    expect(r.index).toBe(1);
    expect(await empty.recv()).toEqual({ value: 5, done: false });
    expect(await rejectionOf(select([{ recv: empty as Chan<unknown> }], { timeout: 30 }))).toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const waiting = select([{ recv: empty as Chan<unknown> }], { signal: ac.signal });
    ac.abort();
    expect(await rejectionOf(waiting)).toBeInstanceOf(CancelledError);
    // A withdrawn select takes nothing: the next value goes to the next receiver.
    await empty.send(9);
    expect(await empty.recv()).toEqual({ value: 9, done: false });
  });

  it("works inside remote functions, with a timeout applied at the channel's home", async () => {
    const a = t.cluster.chan<string>(1);
    const b = t.cluster.chan<string>(1);
    await b.send("from b");
    expect(await t.m.selectRecv(a, b)).toEqual({ index: 1, value: "from b" });
    expect(await t.m.selectRecv(a, b, 30)).toBe("TimeoutError");
  });
});

describe("cancellation context", () => {
  it("a caller's AbortSignal reaches the remote function as context().signal; a call that stops keeps its thread", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Chans>(fixture("chans.ts"));
    expect(await m.contextAborted()).toBe(false);
    const report = cluster.chan<string>(4);
    const ac = new AbortController();
    const call = m.loopUntilCancelled.with({ signal: ac.signal })(report);
    expect((await report.recv()).value).toBe("started");
    const before = (await cluster.runnerStats())[0]!.workerRestarts;
    ac.abort();
    expect(await rejectionOf(call)).toBeInstanceOf(CancelledError);
    expect((await report.recv()).value).toBe("stopped: CancelledError");
    expect(await m.contextAborted()).toBe(false); // the same thread serves the next call
    expect((await cluster.runnerStats())[0]!.workerRestarts).toBe(before);
  });

  it("a timeout aborts the signal too", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<Chans>(fixture("chans.ts"));
    expect(await m.contextAborted()).toBe(false); // loaded: the call below starts at once
    const report = cluster.chan<string>(4);
    const call = m.loopUntilCancelled.with({ timeout: 1000 })(report);
    expect((await report.recv()).value).toBe("started");
    expect(await rejectionOf(call)).toBeInstanceOf(TimeoutError);
    expect((await report.recv()).value).toBe("stopped: CancelledError");
  });
});

describe("goroutines and failures", () => {
  it("f.go() starts a call without awaiting; its failure is on the handle and emitted as \"error\"", async () => {
    await using cluster = await local({ runners: 1, threads: 2 });
    const m = await cluster.import<Chans>(fixture("chans.ts"));
    const failures: [Error, Goroutine<unknown>][] = [];
    cluster.on("error", (err, g) => failures.push([err, g]));
    const ch = cluster.chan<number>();
    const ok = m.drain.go(ch);
    const bad = m.sendOne.go(ch as Chan<unknown>, 1n as unknown);
    await ch.send(5);
    await ch.close();
    expect(await ok.result).toEqual({ n: 1, sum: 5 });
    await bad.result.catch(() => {});
    expect(ok.error).toBeUndefined();
    // The goroutine's send found the channel closed (or raced the driver's send and lost nothing).
    if (bad.error !== undefined) {
      expect(bad.error).toBeInstanceOf(ChannelClosedError);
      expect(failures).toEqual([[bad.error, bad]]);
    }
    const boom = m.relayVia.go(42 as never, "x");
    await boom.result.catch(() => {});
    expect(boom.error).toBeDefined();
    expect(failures.at(-1)?.[1]).toBe(boom);
  });

  it("a runner killed while it holds a channel breaks it: the driver's waiting receive fails with ChannelBrokenError", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Chans>(fixture("chans.ts"));
    const ch = cluster.chan<number>();
    const consumer = m.drain(ch);
    consumer.catch(() => {});
    await settle(cluster);
    const holder = cluster.runners.find((r) => r.inFlight > 0)!;
    const waiting = ch.send(1).then(() => ch.send(2)).then(() => ch.recv());
    process.kill(holder.pid, "SIGKILL");
    const err = await rejectionOf(waiting);
    expect(err).toBeInstanceOf(ChannelBrokenError);
    expect(await rejectionOf(ch.send(3))).toBeInstanceOf(ChannelBrokenError);
  });

  it("a home driver that leaves breaks its channels for runners waiting on them", async () => {
    await using other = await local({ runners: 1, threads: 2 });
    const m = await other.import<Chans>(fixture("chans.ts"));
    const { Cluster } = await import("../src/index.ts");
    // A second driver on the same runner owns the channel; the first one's call waits on it.
    const home = await Cluster.create({ runners: other.runners.map((r) => r.address), token: tokenOf(other) });
    const ch = home.chan<number>();
    const waiting = m.recvOne(ch as Chan<unknown>);
    await settle(home);
    await home.close();
    expect(await rejectionOf(waiting)).toBeInstanceOf(ChannelBrokenError);
  });
});

describe("a closed cluster", () => {
  it("breaks its channels: the driver's own waiting and later operations fail with ChannelBrokenError", async () => {
    const cluster = await local({ runners: 1, threads: 1 });
    const ch = cluster.chan<number>();
    const waiting = rejectionOf(ch.recv()); // handled now: it rejects during close()
    await cluster.close();
    expect(await waiting).toBeInstanceOf(ChannelBrokenError);
    expect(await rejectionOf(ch.send(1))).toBeInstanceOf(ChannelBrokenError);
  });
});

function tokenOf(c: Cluster): string {
  return (c as unknown as { opts: { token: string } }).opts.token;
}
