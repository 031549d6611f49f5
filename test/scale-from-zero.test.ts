import { afterEach, describe, expect, it } from "vitest";
import { Cluster, NoRunnersError } from "../src/index.ts";
import { fixture, rejectionOf, RunnerEvents, silentLogger } from "./helpers.ts";
import { HeadCluster, liveRunners, stopProcess, TOKEN } from "./membership/head-cluster.ts";

type F = typeof import("./fixtures/faults.ts");

const procs = new HeadCluster();
afterEach(() => procs.stopAll());

describe("a cluster scaled to zero", () => {
  it("calls made with no runner wait, and run as soon as one joins the head", async () => {
    const head = await procs.head();
    await using cluster = await Cluster.create({ runners: [], head: head.address, token: TOKEN, logger: silentLogger() });
    expect(cluster.runners).toEqual([]);
    const m = await cluster.import<F>(fixture("faults.ts"));
    const events = new RunnerEvents(cluster);
    const job = Array.from({ length: 10 }, (_, i) => m.square(i, 10));
    const ref = m.square.ref(5, 0);
    const stored = cluster.put(new Float64Array([1, 2, 3]));
    expect(cluster.stats.queued).toBeGreaterThan(0);
    const r = await procs.runners(head.address, 1);
    await events.next("joined", r.addresses[0]!);
    expect((await Promise.all(job)).map((x) => x.value)).toEqual(Array.from({ length: 10 }, (_, i) => i * i));
    expect((await cluster.get(ref)).value).toBe(25);
    expect(await cluster.get(await stored)).toEqual(new Float64Array([1, 2, 3]));
  });

  it("a rolling restart of every runner loses no call: calls wait while none is up", async () => {
    const head = await procs.head();
    const first = await procs.runners(head.address, 1);
    await using cluster = await Cluster.create({ runners: [], head: head.address, token: TOKEN, logger: silentLogger() });
    const events = new RunnerEvents(cluster);
    await liveRunners(cluster, 1); // registered before or after the driver connected: no "joined" for the former

    const m = await cluster.import<F>(fixture("faults.ts"));
    await stopProcess(first.processes[0]!); // drained: it leaves
    await events.next("left", first.addresses[0]!);
    const job = Array.from({ length: 8 }, (_, i) => m.square(i, 10)); // nobody is up
    const second = await procs.runners(head.address, 1);
    await events.next("joined", second.addresses[0]!);
    const results = await Promise.all(job);
    expect(results.map((x) => x.value)).toEqual(Array.from({ length: 8 }, (_, i) => i * i));
    expect(new Set(results.map((x) => x.pid))).toEqual(new Set([second.processes[0]!.pid]));
  });

  it("with no runner coming, a call fails after waitForRunners with NoRunnersError naming it", async () => {
    const head = await procs.head();
    await using cluster = await Cluster.create({ runners: [], head: head.address, token: TOKEN, logger: silentLogger(), waitForRunners: 300 });
    const m = await cluster.import<F>(fixture("faults.ts"));
    const err = await rejectionOf(m.square(2, 0));
    expect(err).toBeInstanceOf(NoRunnersError);
    expect((err as NoRunnersError).message).toMatch(/square: no runner joined the cluster within 300 ms/);
  });
});
