import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { CancelledError, Cluster, ClusterClosedError, connect, local, NoRunnersError, RunnerLostError, TimeoutError } from "../src/index.ts";
import { HeadCluster, TOKEN as HEAD_TOKEN } from "./membership/head-cluster.ts";
import { cleanEnv, fixture, kill9, rejectionOf, RestartableRunners, RunnerEvents, silentLogger } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");
type S = typeof import("./fixtures/spmd.ts");

const TOKEN = "wait-for-runners-test-token";
const runners = new RestartableRunners(TOKEN);
const heads = new HeadCluster();
const FAST_REJOIN = { initialDelayMs: 50, maxDelayMs: 500 };

/** Counts the promises settled so far. */
function settledCount(ps: Promise<unknown>[]): () => number {
  let n = 0;
  for (const p of ps) p.then(() => n++, () => n++);
  return () => n;
}

/** A turn of the event loop: any promise that was to fail at once has failed by then. */
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function expectNoRunners(err: unknown, operation: string, waitedMs: number): void {
  expect(err).toBeInstanceOf(NoRunnersError);
  expect((err as NoRunnersError).operation).toBe(operation);
  expect((err as NoRunnersError).waitedMs).toBe(waitedMs);
  expect((err as Error).message).toBe(`${operation}: no runner joined the cluster within ${waitedMs} ms (waitForRunners)`);
}

afterEach(() => Promise.all([runners.stopAll(), heads.stopAll()]));

describe("calls wait for runners (waitForRunners)", () => {
  it("calls made while the only runner is down wait for it, and complete with the right values once it is back", async () => {
    const a = await runners.start();
    await using cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger(), reconnect: FAST_REJOIN });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 2)).toBe(3);
    const lost = m.sleep(50); // in flight when the runner dies: sent again once it is back
    expect(cluster.runners[0]!.inFlight).toBe(1);

    await kill9(a.proc.child);
    await events.next("lost", a.address);
    const plain = Array.from({ length: 6 }, (_, i) => m.add(i, 10));
    const kept = m.add.ref(2, 2);
    const reads = m.add(kept, 1); // a graph call: waits for its input, which waits for a runner
    const go = m.add.go(20, 2);
    const put = cluster.put([1, 2, 3]);
    const settled = settledCount([lost, ...plain, reads, go.result, put]);
    await nextTurn();
    expect(settled()).toBe(0); // waiting, not failed
    expect(cluster.stats.queued).toBeGreaterThanOrEqual(plain.length + 2);

    const again = await runners.start(a.address);
    expect((await events.next("joined", a.address)).pid).toBe(again.proc.child.pid);
    expect(await Promise.all(plain)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(await lost).toBe(50);
    expect(await reads).toBe(5);
    expect(await go.result).toBe(22);
    expect(await cluster.get(await put)).toEqual([1, 2, 3]);
    expect(cluster.stats.queued).toBe(0);
    expect(cluster.stats.failed).toBe(0);
  });

  it("with no runner coming back, everything waiting fails with NoRunnersError naming it once the bound passes (its own timeout or signal first)", async () => {
    const a = await runners.start();
    await using cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger(), waitForRunners: 300 });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    const s = await cluster.import<S>(fixture("spmd.ts"));
    expect(await m.add(1, 2)).toBe(3);
    const lost = m.sleep(60_000);
    expect(cluster.runners[0]!.inFlight).toBe(1);

    await kill9(a.proc.child);
    await events.next("lost", a.address);
    const ac = new AbortController();
    const cancelled = m.add.with({ signal: ac.signal })(1, 2);
    const timedOut = m.add.with({ timeout: 50 })(1, 2); // its own bound is shorter: it wins
    ac.abort();
    expect(await rejectionOf(cancelled)).toBeInstanceOf(CancelledError);
    expect(await rejectionOf(timedOut)).toBeInstanceOf(TimeoutError);
    const [add, ref, put, broadcast, spmd, go, sleep] = await Promise.all([
      rejectionOf(m.add(1, 2)),
      rejectionOf(cluster.get(m.echo.ref(1))),
      rejectionOf(cluster.put(1)),
      rejectionOf(cluster.broadcast(1)),
      rejectionOf(cluster.spmd(2, s.rankInfo)),
      rejectionOf(m.pid.go().result),
      rejectionOf(lost),
    ]);
    expectNoRunners(add, "add", 300);
    expectNoRunners(ref, "echo", 300);
    expectNoRunners(put, "put", 300);
    expectNoRunners(broadcast, "broadcast", 300);
    expectNoRunners(spmd, "spmd", 300);
    expectNoRunners(go, "pid", 300);
    expectNoRunners(sleep, "sleep", 300); // lost with its runner, then waited for another
    expect(cluster.stats.queued).toBe(0);
  });

  it("with waitForRunners 0, calls fail at once with RunnerLostError, as before the option", async () => {
    const a = await runners.start();
    await using cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger(), waitForRunners: 0 });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 2)).toBe(3);
    await kill9(a.proc.child);
    await events.next("lost", a.address);
    for (const p of [m.add(1, 2), cluster.put(1), m.pid.go().result]) {
      const err = await rejectionOf(p);
      expect(err).toBeInstanceOf(RunnerLostError);
      expect((err as RunnerLostError).runner).toBe("(none)");
    }
  });

  it("closing the cluster fails what waits for a runner with ClusterClosedError", async () => {
    const a = await runners.start();
    const cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger() });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 2)).toBe(3);
    await kill9(a.proc.child);
    await events.next("lost", a.address);
    const waiting = [m.add(1, 2), cluster.put(1), m.pid.go().result];
    await nextTurn();
    await cluster.close();
    const errors = await Promise.all(waiting.map(rejectionOf));
    for (const e of errors) expect(e).toBeInstanceOf(ClusterClosedError);
    expect(errors.map((e) => (e as Error).message)).toEqual(["add: the cluster is closed", "put: the cluster is closed", "pid: the cluster is closed"]);
  });

  it("refuses a waitForRunners that is not a non-negative finite number, before starting anything", async () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
      await expect(local({ runners: 1, waitForRunners: bad })).rejects.toThrow(/waitForRunners must be a non-negative finite number/);
      await expect(connect({ runners: ["127.0.0.1:1"], waitForRunners: bad })).rejects.toBeInstanceOf(TypeError);
      await expect(Cluster.create({ runners: ["127.0.0.1:1"], waitForRunners: bad })).rejects.toBeInstanceOf(TypeError);
    }
  });

  it("a cluster of a head with no runner yet: calls wait, and the first runner to join takes them at once", async () => {
    await expect(Cluster.create({ runners: [] })).rejects.toBeInstanceOf(TypeError); // no head: nothing to wait for
    const head = await heads.head();
    await using cluster = await Cluster.create({ runners: [], head: head.address, token: HEAD_TOKEN, logger: silentLogger() });
    expect(cluster.runners).toEqual([]);
    const m = await cluster.import<M>(fixture("math.ts"));
    const calls = Array.from({ length: 4 }, (_, i) => m.add(i, 1));
    const kept = m.add.ref(5, 5);
    const put = cluster.put("x");
    const settled = settledCount([...calls, put]);
    await nextTurn();
    expect(settled()).toBe(0);
    expect(cluster.stats.queued).toBe(5);

    const started = await heads.runners(head.address, 1);
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4]);
    expect(await cluster.get(kept)).toBe(10);
    expect(await cluster.get(await put)).toBe("x");
    expect(cluster.runners.map((r) => r.pid)).toEqual([started.processes[0]!.pid]);
  });

  it("a cluster of a head whose runners never come: calls fail with NoRunnersError at the bound", async () => {
    const head = await heads.head();
    await using cluster = await Cluster.create({ runners: [], head: head.address, token: HEAD_TOKEN, logger: silentLogger(), waitForRunners: 200 });
    const m = await cluster.import<M>(fixture("math.ts"));
    expectNoRunners(await rejectionOf(m.add(1, 2)), "add", 200);
  });

  it("a program awaiting a call that waits gets its NoRunnersError: the wait keeps the process up", async () => {
    const a = await runners.start();
    const script = fileURLToPath(fixture("waiting-driver.ts"));
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script, a.address, TOKEN, "300"], { env: cleanEnv({ STRAND_LOG: "silent" }), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        if (out.includes("ready\n")) resolve();
      });
    });
    await kill9(a.proc.child);
    expect(await exit).toBe(0);
    expect({ out, err }).toEqual({ out: "ready\nfailed ERR_STRAND_NO_RUNNERS add: no runner joined the cluster within 300 ms (waitForRunners)\n", err: "" });
  });
});
