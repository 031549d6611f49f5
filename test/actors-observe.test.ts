import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunnerActivity } from "../src/driver/observe/runner-watch.ts";
import type { ActorStat } from "../src/protocol/messages.ts";
import { removeDir, tempDir } from "./helpers.ts";
import { hasPromtool, parse, promtoolCheck, scrape, total } from "./metrics-helpers.ts";
import { useCluster } from "./use-cluster.ts";

// Actors as Strand's observers see them, on real runners: the driver's and the runners' stats,
// the runners' activity (what the dashboard and `strand top` read), and the metrics. An actor
// whose calls wait on a channel keeps calls in its mailbox for as long as the test looks.

type M = typeof import("./fixtures/actor-observe.ts");

/** Reads until `ok` holds (the state moves on its own: there is no event to await). */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("actors, observed", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1, metrics: true }, { m: "actor-observe.ts" });

  const runnerSamples = async () => (await Promise.all(t.cluster.metricsEndpoints.runners.map((a) => scrape(a)))).flatMap(parse);
  const driverSamples = async () => parse(await scrape(t.cluster.metricsEndpoints.driver!));
  const statOf = async (id: string): Promise<(ActorStat & { address: string }) | undefined> => {
    for (const r of await t.cluster.runnerStats()) for (const a of r.actors ?? []) if (a.id === id) return { ...a, address: r.address };
    return undefined;
  };

  it("in stats, on the driver and on its runner: class, name, runner, mailbox, calls; and in the runners' activity, and the metrics", async () => {
    const turnstile = await t.m.Turnstile.spawn.with({ name: "turnstile" })();
    const mine = t.cluster.stats.actors;
    expect(mine).toHaveLength(1);
    const known = mine[0]!;
    expect(known).toMatchObject({ className: "Turnstile", name: "turnstile", state: "alive", restarts: 0, owned: true, queued: 0 });
    const home = known.runner!;
    const other = t.cluster.runners.map((r) => r.address).find((a) => a !== home)!;
    expect(t.cluster.runners.map((r) => r.address)).toContain(home);

    // One call runs (waiting on the gate), two wait in the mailbox.
    const gate = t.cluster.chan<number>();
    const passes = [1, 2, 3].map(() => turnstile.pass(gate));
    for (const p of passes) p.catch(() => {}); // awaited below; a failure before that is the test's, not an unhandled one
    const stat = await until(() => statOf(known.id), (s) => s?.mailbox === 2);
    expect(stat).toMatchObject({ address: home, className: "Turnstile", name: "turnstile", mailbox: 2, running: 1, calls: 3, incarnation: 0, detached: false });
    expect(stat!.thread).toBeGreaterThan(0);
    const stats = await t.cluster.runnerStats();
    expect(stats.find((s) => s.address === other)!.actors).toEqual([]);
    expect(stats.find((s) => s.address === home)!.actorCount).toBe(1);

    // What watchers hear every interval: the actor, its count, the calls waiting.
    const heard = new Map<string, RunnerActivity>();
    let unwatch = (): void => {};
    await new Promise<void>((resolve) => {
      unwatch = t.cluster.watch((a) => {
        heard.set(a.runner, a);
        if (heard.get(home)?.stats.actorMailbox === 2 && heard.has(other)) resolve();
      }, { intervalMs: 100 });
    });
    unwatch();
    expect(heard.get(home)!.stats).toMatchObject({ actorCount: 1, actorMailbox: 2 });
    expect(heard.get(home)!.stats.actors).toEqual([expect.objectContaining({ id: known.id, className: "Turnstile", mailbox: 2, running: 1 })]);
    expect(heard.get(other)!.stats).toMatchObject({ actors: [], actorCount: 0, actorMailbox: 0 });

    // Metrics: the runner's gauges by class, the driver's by state, calls named Class.method on both sides.
    let runners = await runnerSamples();
    expect(total(runners, "strand_runner_actors", { class: "Turnstile" })).toBe(1);
    expect(total(runners, "strand_runner_actor_mailbox_depth", { class: "Turnstile" })).toBe(2);
    expect(total(runners, "strand_runner_actor_calls_running", { class: "Turnstile" })).toBe(1);
    expect(total(runners, "strand_runner_calls_started_total", { function: "Turnstile.pass" })).toBe(3);
    expect(total(runners, "strand_runner_calls_finished_total", { function: "Turnstile.constructor" })).toBe(1);
    let driver = await driverSamples();
    expect(total(driver, "strand_driver_actors", { state: "alive" })).toBe(1);
    expect(total(driver, "strand_driver_actors", { state: "restarting" })).toBe(0);
    expect(total(driver, "strand_driver_calls_started_total", { function: "Turnstile.pass" })).toBe(3);
    // No series per actor: an actor's id is never a label.
    for (const s of [...runners, ...driver]) expect(s.labels.function ?? "", s.name).not.toMatch(/^strand:/);
    if (hasPromtool()) {
      for (const a of [...t.cluster.metricsEndpoints.runners, t.cluster.metricsEndpoints.driver!]) expect(promtoolCheck(await scrape(a))).toBe("");
    }

    await gate.send(1);
    await gate.send(2);
    await gate.send(3);
    expect(await Promise.all(passes)).toEqual([1, 2, 3]);
    await until(() => statOf(known.id), (s) => s?.mailbox === 0 && s.running === 0);
    runners = await runnerSamples();
    expect(total(runners, "strand_runner_actor_mailbox_depth", { class: "Turnstile" })).toBe(0);
    expect(total(runners, "strand_runner_calls_finished_total", { function: "Turnstile.pass" })).toBe(3);
    driver = await driverSamples();
    expect(total(driver, "strand_driver_calls_finished_total", { function: "Turnstile.pass" })).toBe(3);

    // Gone: the class reads 0 on its runner, the driver counts it no more.
    await turnstile.kill();
    expect(await statOf(known.id)).toBeUndefined();
    runners = await runnerSamples();
    expect(total(runners, "strand_runner_actors", { class: "Turnstile" })).toBe(0);
    expect(runners.some((s) => s.name === "strand_runner_actors" && s.labels.class === "Turnstile")).toBe(true);
    expect(total(await driverSamples(), "strand_driver_actors", { state: "alive" })).toBe(0);
    expect(t.cluster.stats.actors.find((a) => a.id === known.id)?.state).toBe("dead");
  });

  it("a thread busy in a long synchronous method still has its actors listed (as it last said)", async () => {
    const runner = t.cluster.runners[0]!.address;
    const [a, b] = await Promise.all([0, 1].map(() => t.m.Turnstile.spawn.with({ runner })()));
    const ids = t.cluster.stats.actors.filter((x) => x.state === "alive").map((x) => x.id);
    const listed = async (): Promise<string[]> => ((await t.cluster.runnerStats()).find((s) => s.address === runner)!.actors ?? []).map((x) => x.id).sort();
    expect(await listed()).toEqual([...ids].sort());
    const dir = await tempDir();
    try {
      const started = join(dir, "started");
      const release = join(dir, "release");
      const held = a!.block(started, release);
      await until(() => Promise.resolve(existsSync(started)), (x) => x);
      expect(await listed()).toEqual([...ids].sort()); // the thread cannot answer: its last answer stands in
      writeFileSync(release, "");
      expect(await held).toBe(1);
    } finally {
      await removeDir(dir);
    }
    await Promise.all([a!.kill(), b!.kill()]);
  });

  // Last: it kills a runner of the shared cluster.
  it("a restart after its runner dies: counted on the driver, the new incarnation on the survivor", async () => {
    const phoenix = await t.m.Turnstile.spawn.with({ maxRestarts: 1 })();
    const before = t.cluster.stats.actors.find((a) => a.state === "alive")!;
    const victim = t.cluster.runners.find((r) => r.address === before.runner)!;
    const survivor = t.cluster.runners.find((r) => r.address !== before.runner)!;
    const lost = new Promise<void>((resolve) => t.cluster.on("runner", (e) => e.type === "lost" && e.address === victim.address && resolve()));
    process.kill(victim.pid, "SIGKILL");
    await lost; // a call sent before the driver knows would be in flight, and fail (no maxTaskRetries)
    expect(await phoenix.passed()).toBe(0); // waits for the restart: state is lost without checkpoint()
    expect(t.cluster.stats.actors.find((a) => a.id === before.id)).toMatchObject({ state: "alive", restarts: 1, runner: survivor.address });
    expect(await statOf(before.id)).toMatchObject({ address: survivor.address, incarnation: 1 });
    const driver = await driverSamples();
    expect(total(driver, "strand_driver_actor_restarts_total")).toBe(1);
    expect(total(driver, "strand_driver_actors", { state: "alive" })).toBe(1);
    await phoenix.kill();
  });
});
