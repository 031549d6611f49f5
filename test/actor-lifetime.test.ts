import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ActorDiedError, Cluster } from "../src/index.ts";
import { startLocalRunners } from "../src/driver/local.ts";
import { cleanEnv, collectUntil, exited, fixture, rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

// How long an actor lives: while its spawning driver holds a handle to it (or a call of that
// driver carries one), until kill(), and never past its driver, unless detached. What the
// runners hold is read from their own stats (runnerStats()[i].actors).

type A = typeof import("./fixtures/actor-faults.ts");

/** The ids of the actors the runners hold now. */
async function onRunners(c: Cluster): Promise<string[]> {
  return (await c.runnerStats()).flatMap((s) => (s.actors ?? []).map((a) => a.id)).sort();
}

/**
 * Asks the runners (a round trip each, no timer) until `ok` holds of the actors they hold: for
 * an end the runners learn of over their own connections, in their own time. A hang is bounded
 * by the test's timeout.
 */
async function untilRunners(c: Cluster, ok: (ids: string[]) => boolean): Promise<string[]> {
  for (;;) {
    const ids = await onRunners(c);
    if (ok(ids)) return ids;
  }
}

describe("actor lifetime", () => {
  let runners!: Awaited<ReturnType<typeof startLocalRunners>>;
  const t = useCluster<{ m: A }>(async (defer) => {
    runners = await startLocalRunners({ runners: 2, threads: 1 });
    defer(() => runners.stop());
    return Cluster.create({ runners: runners.addresses, token: runners.token });
  }, { m: "actor-faults.ts" });

  it("release() of the only handle ends the actor on its runner; its calls then fail with ActorDiedError", async () => {
    const c = await t.m.Tally.spawn(1, "released");
    expect(await c.add(1)).toBe(2);
    expect(await onRunners(t.cluster)).toContain(c.actorId);
    c.release();
    await untilRunners(t.cluster, (ids) => !ids.includes(c.actorId));
    expect(await rejectionOf(c.add(1))).toBeInstanceOf(ActorDiedError);
    expect(t.cluster.stats.actors.find((a) => a.id === c.actorId)?.state).toBe("dead");
  });

  it("`await using` ends the actor at the end of the block, before the block's await returns", async () => {
    let id = "";
    {
      await using c = await t.m.Tally.spawn(1, "scoped");
      id = c.actorId;
      expect(await c.add(2)).toBe(3);
      expect(await onRunners(t.cluster)).toContain(id);
    }
    // The dispose resolved once the actor's thread had dropped it: its stats say so at once.
    expect(await onRunners(t.cluster)).not.toContain(id);
  });

  it("`using` ends the actor at the end of the block", async () => {
    let id = "";
    {
      using c = await t.m.Tally.spawn(1, "scoped");
      id = c.actorId;
      expect(await c.add(2)).toBe(3);
    }
    await untilRunners(t.cluster, (ids) => !ids.includes(id));
    expect(t.cluster.stats.actors.find((a) => a.id === id)?.state).toBe("dead");
  });

  it("another handle keeps it alive: releasing one of two does not end it, releasing both does; kill() ends it from any handle", async () => {
    const name = `two-handles-${process.pid}`;
    const first = await t.m.Tally.spawn.with({ name })(1, "two");
    const second = await t.cluster.actor<InstanceType<A["Tally"]>>(name);
    expect(second.actorId).toBe(first.actorId);
    first.release();
    expect(await second.add(1)).toBe(2);
    expect(await onRunners(t.cluster)).toContain(first.actorId);
    second.release();
    await untilRunners(t.cluster, (ids) => !ids.includes(first.actorId));

    const k = await t.m.Tally.spawn(1, "killed");
    const k2 = await t.m.Tally.spawn(1, "bystander");
    await k.kill();
    // kill() resolves once the actor's thread dropped it.
    expect(await onRunners(t.cluster)).not.toContain(k.actorId);
    expect(await rejectionOf(k.get())).toBeInstanceOf(ActorDiedError);
    expect(await k2.add(1)).toBe(2);
    await k2.kill();
  });

  it("a handle the program drops is garbage-collected, and the actor ends", async () => {
    let id = "";
    await (async () => {
      const c = await t.m.Tally.spawn(1, "dropped");
      id = c.actorId;
      expect(await c.add(1)).toBe(2);
    })();
    expect(await onRunners(t.cluster)).toContain(id);
    await collectUntil(() => t.cluster.stats.actors.find((a) => a.id === id)?.state === "dead");
    expect(t.cluster.stats.actors.find((a) => a.id === id)?.state).toBe("dead");
    await untilRunners(t.cluster, (ids) => !ids.includes(id));
  });

  it("a call carrying a handle keeps the actor alive while it runs, though the driver let go of it; it ends after", async () => {
    const c = await t.m.Tally.spawn(10, "carried");
    const id = c.actorId;
    const go = t.cluster.chan<number>(1);
    const call = t.m.addWhenTold(c, go);
    c.release();
    // Released, but pinned by the call: still there, and its state untouched.
    expect(t.cluster.stats.actors.find((a) => a.id === id)?.state).toBe("alive");
    expect(await onRunners(t.cluster)).toContain(id);
    await go.send(5);
    expect(await call).toBe(15);
    await untilRunners(t.cluster, (ids) => !ids.includes(id));
  });

  it("a driver SIGKILLed: its actors end on the runners, except the detached one, which a second driver finds by name, calls and kills", { timeout: 120_000 }, async () => {
    const name = `survivor-${process.pid}`;
    const env = cleanEnv({ STRAND_RUNNERS: runners.addresses.join(","), STRAND_TOKEN: runners.token, STRAND_LOG: "silent", ACTOR_NAME: name });
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fileURLToPath(fixture("actor-driver.ts"))], { env, stdio: ["ignore", "pipe", "inherit"] });
    const exit = exited(child);
    const ids = await new Promise<{ prefix: string; plain: string; named: string; detached: string }>((resolve, reject) => {
      void exit.then((code) => reject(new Error(`the actor driver exited (${code}) before it was ready`)));
      createInterface({ input: child.stdout! }).on("line", (l) => resolve(JSON.parse(l) as never));
    });
    try {
      expect(await onRunners(t.cluster)).toEqual(expect.arrayContaining([ids.plain, ids.named, ids.detached]));
    } finally {
      child.kill("SIGKILL");
      await exit;
    }
    const left = await untilRunners(t.cluster, (xs) => !xs.includes(ids.plain) && !xs.includes(ids.named));
    expect(left).toContain(ids.detached);
    // Found from this driver, by name, with the state its dead driver left it in.
    const d = await t.cluster.actor<InstanceType<A["Tally"]>>(name);
    expect(d.actorId).toBe(ids.detached);
    expect(await d.get()).toBe(4);
    expect(await d.add(1)).toBe(5);
    // This driver did not spawn it: letting go of the handle does not end it; kill() does.
    d.release();
    expect(await onRunners(t.cluster)).toContain(ids.detached);
    const again = await t.cluster.actor<InstanceType<A["Tally"]>>(name);
    await again.kill();
    await untilRunners(t.cluster, (xs) => !xs.includes(ids.detached));
  });
});
