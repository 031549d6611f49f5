import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ChannelBrokenError, Cluster, local, type Chan } from "../src/index.ts";
import { fixture, rejectionOf, RestartableRunners } from "./helpers.ts";

type M = typeof import("./fixtures/runner-chans.ts");
type Made = { ch: Chan<unknown>; at: { pid: number; thread: number } };

describe("a channel made on a runner, when a runner or the driver goes", () => {
  it("the runner holding its home is killed: waiters on the driver and on another runner fail with ChannelBrokenError, and later operations too", async () => {
    await using cluster = await local({ runners: 2, threads: 1, retries: 0 });
    const m = await cluster.import<M>(fixture("runner-chans.ts"));
    const out = cluster.chan<Made>();
    const release = cluster.chan<unknown>();
    const holder = m.makeAndHold.go(out as never, 0, release as never);
    holder.result.catch(() => {});
    const { ch, at: home } = (await out.recv()).value!;
    const other = m.recvReport(ch); // on the other runner: the home's runner is the busier one
    const here = rejectionOf(ch.recv());
    process.kill(home.pid, "SIGKILL");
    const err = await here;
    expect(err).toBeInstanceOf(ChannelBrokenError);
    expect((err as Error).message).toContain(ch.id);
    expect(await other).toBe("ChannelBrokenError");
    expect(await rejectionOf(ch.send(1))).toBeInstanceOf(ChannelBrokenError);
  });

  it("a runner with a goroutine waiting on it dies: the home breaks the channel for everyone else", async () => {
    await using cluster = await local({ runners: 2, threads: 1, retries: 0 });
    const m = await cluster.import<M>(fixture("runner-chans.ts"));
    const out = cluster.chan<Made>();
    const release = cluster.chan<unknown>();
    const holder = m.makeAndHold.go(out as never, 0, release as never);
    const { ch, at: home } = (await out.recv()).value!;
    const waiter = m.recvTwice.go(ch);
    waiter.result.catch(() => {});
    await ch.send("first"); // taken by the goroutine, which now waits for a second
    const victim = cluster.runners.find((r) => r.pid !== home.pid)!;
    const mine = rejectionOf(ch.recv()); // a second receiver, beside the goroutine
    process.kill(victim.pid, "SIGKILL");
    expect(await mine).toBeInstanceOf(ChannelBrokenError);
    await release.send("go");
    expect(await holder.result).toEqual(home); // the home itself lives on
  });
});

describe("a channel made on a runner, when the driver whose call made it closes", () => {
  const token = randomBytes(16).toString("hex");
  const runners = new RestartableRunners(token);
  afterEach(() => runners.stopAll());

  it("its waiters wake with ChannelBrokenError: on the closing driver, and on the runner for another driver", async () => {
    const { address } = await runners.start();
    // A second driver, connected first: the channel is still the maker's alone (its call made it).
    await using watcher = await Cluster.create({ runners: [address], token });
    const w = await watcher.import<M>(fixture("runner-chans.ts"));
    expect(await w.pid()).toBeGreaterThan(0); // its lane is up before the channel is made
    const maker = await Cluster.create({ runners: [address], token });
    const m = await maker.import<M>(fixture("runner-chans.ts"));
    const out = maker.chan<Made>();
    const release = maker.chan<unknown>();
    const holder = m.makeAndHold.go(out as never, 0, release as never);
    holder.result.catch(() => {});
    const { ch } = (await out.recv()).value!;
    const waiting = w.recvReport(ch);
    const onMaker = rejectionOf(ch.recv());
    await maker.close();
    expect(await onMaker).toBeInstanceOf(ChannelBrokenError);
    expect(await waiting).toBe("ChannelBrokenError");
  });
});
