import { describe, expect, it } from "vitest";
import type { Chan } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/runner-chans.ts");
type Made = { ch: Chan<unknown>; at: { pid: number; thread: number } };

describe("values on a channel made on a runner go straight between runners", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 2, retries: 0 }, { m: "runner-chans.ts" });

  it("4 producers x 3 consumers on both runners: every value arrives once, each sender's in order", async () => {
    const out = t.cluster.chan<Made>();
    const release = t.cluster.chan<unknown>();
    const holder = t.m.makeAndHold.go(out as never, 16, release as never);
    const ch = (await out.recv()).value!.ch as Chan<number>;
    const consumers = [0, 1, 2].map(() => t.m.drainOrdered(ch));
    const producers = [1, 2, 3, 4].map((k) => t.m.sendAll(ch, k * 1e6, 250));
    const sentFrom = await Promise.all(producers);
    await ch.close();
    const got = await Promise.all(consumers);
    const all = got.flatMap((g) => g.values).sort((a, b) => a - b);
    expect(all).toEqual([1, 2, 3, 4].flatMap((k) => Array.from({ length: 250 }, (_, i) => k * 1e6 + i)));
    expect(got.map((g) => g.outOfOrder)).toEqual([0, 0, 0]);
    expect(new Set([...sentFrom, ...got.map((g) => g.at)].map((w) => w.pid)).size).toBe(2);
    await release.send("done");
    await holder.result;
  });

  it("10 MB from one runner to another: no value bytes pass through the driver", async () => {
    const out = t.cluster.chan<Chan<Uint8Array>>();
    const traffic = (): number => t.cluster.runners.reduce((s, r) => s + r.bytesSent + r.bytesReceived, 0);
    const homeBytes = (): number => t.cluster.stats.channelHomeBytes.sent + t.cluster.stats.channelHomeBytes.received;
    const receiver = t.m.makeAndRecvBytes.go(out as never, 8);
    const ch = (await out.recv()).value!;
    const before = traffic() + homeBytes();
    const sender = await t.m.sendBytesAndClose(ch, 100, 100_000);
    const got = await receiver.result;
    expect(got).toMatchObject({ n: 100, bytes: 10_000_000 });
    expect(sender.pid).not.toBe(got.at.pid); // runner to runner
    // Calls and their answers cross the driver (a few hundred bytes); the 10 MB did not.
    expect(traffic() + homeBytes() - before).toBeLessThan(100_000);
    expect(t.cluster.stats.channels.find((c) => c.id === ch.id)).toBeUndefined();
  });
});
