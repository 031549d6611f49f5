import { describe, expect, it } from "vitest";
import type { Chan } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type Go = typeof import("./fixtures/go-programs.ts");

// Go's channel test programs (go/test/chan/: fifo, select, doubleselect, nonblock, sendstmt,
// zerosize), their goroutines on runners and their main on the driver. Each must behave as
// it does in Go: the original's checks are kept, and a failed one throws.

describe("Go's channel test programs", () => {
  const t = useCluster<{ m: Go }>({ runners: 2, threads: 2 }, { m: "go-programs.ts" });

  it("fifo: a buffered channel keeps order; a chain of goroutines takes its values in turn", async () => {
    const N = 10;
    await t.m.asynchFifo(t.cluster.chan<number>(N), N);
    // SynchFifo: N goroutines, each waiting on the one before it.
    const ch = t.cluster.chan<number>();
    const start = t.cluster.chan<number>();
    let inp: Chan<number> = start;
    const chain = [];
    for (let i = 0; i < N; i++) {
      const out = t.cluster.chan<number>();
      chain.push(t.m.chain.go(ch, i, inp, out).result);
      inp = out;
    }
    await start.send(0);
    for (let i = 0; i < N; i++) await ch.send(i);
    expect((await inp.recv()).value).toBe(1);
    await Promise.all(chain);
  });

  it("select: every case's value is evaluated, nil channels' too; nil cases never run; default ends the loop", async () => {
    const a = t.cluster.chan<number>(1);
    const b = t.cluster.chan<number>(1);
    const first = await t.m.selectSend(a, b, { counter: 0, shift: 0 });
    expect(first.sent).toBe(2);
    expect(((await a.recv()).value! | (await b.recv()).value!)).toBe(3);
    const second = await t.m.selectSend(a, null, first);
    expect(second.sent).toBe(1);
    expect(second.counter).toBe(10);
  });

  it("doubleselect: a sender selecting over four channels, four muxes, one receiver: each value exactly once", async () => {
    const n = 2000;
    const [c1, c2, c3, c4] = [0, 1, 2, 3].map(() => t.cluster.chan<number>());
    const done = t.cluster.chan<boolean>();
    const cmux = t.cluster.chan<number>();
    const goroutines = [t.m.sender.go(n, c1!, c2!, c3!, c4!), ...[c1, c2, c3, c4].map((c) => t.m.mux.go(cmux, c!, done)), t.m.closeAfter.go(done, 4, cmux)];
    const seen = new Set<number>();
    for await (const v of cmux) {
      expect(seen.has(v), `duplicate ${v}`).toBe(false);
      seen.add(v);
    }
    expect(seen.size).toBe(n);
    await Promise.all(goroutines.map((g) => g.result));
  });

  it("nonblock: select with default never blocks, on unbuffered and buffered channels; a polling side meets a blocked one", async () => {
    for (const buffer of [0, 1, 10]) {
      const c = t.cluster.chan<number>(buffer);
      const ready = t.cluster.chan<string>(1);
      expect(await t.m.nonblock(c, ready, buffer)).toBe("ok");
      expect((await ready.recv()).value).toBe("empty again");
      // A blocked receive here, a polling send there (and the other way): both go through.
      const got = c.recv();
      expect(await t.m.pollSend(c, 7, 1e6)).toBeGreaterThanOrEqual(1);
      expect((await got).value).toBe(7);
      const polled = t.m.pollRecv(c, 1e6);
      await c.send(8);
      expect((await polled)[0]).toBe(8);
    }
  });

  it("sendstmt: a channel received from a channel is sent on at once; the sent value is the whole expression", async () => {
    expect(await t.m.chanchan(t.cluster.chan<Chan<number>>(1), t.cluster.chan<number>(1))).toBe(2);
    expect(await t.m.sendprec(t.cluster.chan<boolean>(1))).toBe(true);
  });

  it("zerosize: channels of empty values carry them, buffered and unbuffered", async () => {
    expect(await t.m.zerosize(t.cluster.chan(1), t.cluster.chan(1), t.cluster.chan(1))).toEqual([undefined, {}, []]);
    const u = t.cluster.chan<undefined>();
    const o = t.cluster.chan<Record<string, never>>();
    const a = t.cluster.chan<never[]>();
    const zs = t.m.zerosize(u, o, a);
    // Unbuffered: each send of the remote function waits for this side's receive, and its
    // receives (after all three sends) for this side's sends.
    expect(await u.recv()).toEqual({ value: undefined, done: false });
    expect((await o.recv()).value).toEqual({});
    expect((await a.recv()).value).toEqual([]);
    await u.send(undefined);
    await o.send({});
    await a.send([]);
    expect(await zs).toEqual([undefined, {}, []]);
  });
});
