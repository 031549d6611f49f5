import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../src/index.ts";
import { fixture, RestartableRunners, RunnerEvents, silentLogger } from "./helpers.ts";
import { listeningPorts } from "./proc.ts";

type M = typeof import("./fixtures/math.ts");

// A runner stopped with SIGTERM (a deploy, a rolling restart) finishes what it runs and
// turns new calls away unrun; the driver sends those elsewhere without spending `retries`,
// and the runner restarted on its address rejoins.
const TOKEN = "drain-test-token";
const runners = new RestartableRunners(TOKEN);
const runner = (listen?: string): ReturnType<RestartableRunners["start"]> => runners.start(listen);

/** Blocks this thread until `done()` holds: the driver's event loop reads nothing meanwhile. */
function blockUntil(done: () => boolean, what: string, limitMs = 10_000): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const t0 = performance.now();
  while (!done()) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    Atomics.wait(cell, 0, 0, 2);
  }
}

/** Resolves once the runner at `address` reports a call in flight (it has received it). */
async function runningOn(cluster: Cluster, address: string): Promise<void> {
  for (;;) {
    const s = (await cluster.runnerStats()).find((x) => x.address === address);
    if (s !== undefined && s.inFlight > 0) return;
  }
}

afterEach(() => runners.stopAll());

describe("a runner that is stopping (SIGTERM)", () => {
  it("finishes its running call, sends calls that reach it meanwhile elsewhere unrun (retries: 0 still succeed), and rejoins after a restart", async () => {
    const [a, b] = await Promise.all([runner(), runner()]); // at once: each start takes seconds on a loaded machine
    await using cluster = await Cluster.create({ runners: [a.address, b.address], token: TOKEN, logger: silentLogger() });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    const once = m.add.with({ retries: 0 });
    expect(await Promise.all([once(1, 1), once(2, 2)])).toEqual([2, 4]); // code loaded on both

    const running = m.sleep.with({ retries: 0 })(1500);
    expect(cluster.runners.map((r) => r.inFlight)).toEqual([1, 0]); // the long call is for a
    await runningOn(cluster, a.address);
    const resentBefore = cluster.stats.resent;
    a.proc.child.kill("SIGTERM");
    // Wait, without reading a socket, until a has begun to stop (it closes its listening
    // port first): the calls below then reach it before this driver can read its notice.
    blockUntil(() => !listeningPorts(a.proc.child.pid!).includes(a.port), "runner a to start stopping");
    const calls = Array.from({ length: 20 }, (_, i) => once(i, 1000));
    expect(cluster.runners[0]!.inFlight).toBeGreaterThan(1); // some went to a

    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1000));
    expect(cluster.stats.resent - resentBefore).toBeGreaterThan(0); // turned away by a, run on b
    expect(await running).toBe(1500); // a finished what it was running (retries: 0: not run again)
    expect(new Set(await Promise.all(Array.from({ length: 6 }, () => m.pid())))).toEqual(new Set([b.proc.child.pid]));
    expect(await a.proc.exit).toBe(0);
    await events.next("lost", a.address);

    // Restarted on its address, it rejoins and takes calls again.
    const again = await runner(a.address);
    expect((await events.next("joined", a.address)).pid).toBe(again.proc.child.pid);
    const pids = new Set(await Promise.all(Array.from({ length: 8 }, () => m.sleep(20).then(() => m.pid()))));
    expect(pids).toEqual(new Set([again.proc.child.pid, b.proc.child.pid]));
  }, 60_000); // three runner processes started from source, one after a SIGTERM's drain: 30 s was not enough at load 15

  it("with every runner stopping and waitForRunners 0, a new call fails with RunnerLostError saying so, rather than waiting", async () => {
    const a = await runner();
    await using cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger(), reconnect: false, waitForRunners: 0 });
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 1)).toBe(2);
    const running = m.sleep.with({ retries: 0 })(1000);
    await runningOn(cluster, a.address);
    a.proc.child.kill("SIGTERM");
    blockUntil(() => !listeningPorts(a.proc.child.pid!).includes(a.port), "runner a to start stopping");
    const turnedAway = m.add(2, 2);
    await expect(turnedAway).rejects.toThrow(/runner is stopping; the call did not start/);
    expect(await running).toBe(1000);
  });
});
