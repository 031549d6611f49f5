import { describe, expect, it } from "vitest";
import { local, ObjectLostError, type Cluster, type Ref } from "../src/index.ts";
import { fixture, rejectionOf } from "./helpers.ts";

type Objects = typeof import("./fixtures/objects.ts");

/** The runner holding the driver's only stored object. */
async function holderOf(cluster: Cluster): Promise<{ address: string; pid: number }> {
  const stats = await cluster.runnerStats();
  const holders = stats.filter((s) => s.objects > 0);
  expect(holders).toHaveLength(1);
  const r = cluster.runners.find((x) => x.address === holders[0]!.address)!;
  return { address: r.address, pid: r.pid };
}

describe("objects when runners die", () => {
  it("a task-made Ref whose runner was killed is remade by re-running its task: same value", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const ref = m.seeded.ref(42, 50_000);
    const first = await cluster.get(ref);
    process.kill(first.pid, "SIGKILL");
    const again = await cluster.get(ref);
    expect(again.pid).not.toBe(first.pid);
    expect(again.values).toEqual(first.values);
    // Calls given the Ref read the remade copy.
    // A task reading it is sent again if it lands on the dead runner before the driver notices.
    expect(await cluster.get(m.valuesOf.ref(ref))).toEqual(first.values);
  });

  it("a small task result lives in the driver: its runner's death loses nothing and re-runs nothing", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const ref = m.seeded.ref(5, 100); // 800 bytes of values
    const first = await cluster.get(ref);
    process.kill(first.pid, "SIGKILL");
    expect(await cluster.get(ref)).toEqual(first); // same pid: not re-run
    // A task reading it is sent again if it lands on the dead runner before the driver notices.
    expect(await cluster.get(m.valuesOf.ref(ref))).toEqual(first.values);
  });

  it("a lost object deep in a chain is remade through its lineage", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const base = m.seeded.ref(7, 10_000);
    const mid = m.valuesOf.ref(base);
    const top = m.sum.ref(mid);
    const expected = await cluster.get(top);
    const { pid, values } = await cluster.get(base);
    // Kill the runner that made `base`; `mid` and `top` ran there too (next to their
    // input) or on the other runner: either way the chain must be remade as far as needed.
    process.kill(pid, "SIGKILL");
    expect(await cluster.get(top)).toBe(expected);
    expect(await cluster.get(mid)).toEqual(values);
  });

  it("lineage is followed 32 levels deep at most: a longer lost chain fails with ObjectLostError, a shorter one is remade", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    type Tagged = { values: Float64Array; pid: number };
    // 80 KB per link: kept on the runners, not in the driver. Each link runs next to its input.
    const root = m.tag.ref(m.seeded.ref(1, 10_000));
    const chain = (n: number): Ref<Tagged>[] => {
      const refs = [m.tag.ref(root)];
      for (let i = 1; i < n; i++) refs.push(m.tag.ref(refs[i - 1]!));
      return refs;
    };
    // One chain after the other, so that every step is the only call ready: it goes to its input.
    const { pid } = await cluster.get(root);
    const long = chain(40);
    expect((await cluster.get(long[39]!)).pid).toBe(pid);
    const short = chain(5);
    const before = await cluster.get(short[4]!);
    expect(before.pid).toBe(pid);
    process.kill(pid, "SIGKILL");
    const remade = await cluster.get(short[4]!);
    expect(remade.pid).not.toBe(pid);
    expect(remade.values).toEqual(before.values);
    const err = await rejectionOf(cluster.get(long[39]!));
    expect(err).toBeInstanceOf(ObjectLostError);
    expect((err as Error).message).toMatch(/deeper than 32 levels/);
  });

  it("a task running on a runner that dies is run again elsewhere", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await Promise.all([m.where(), m.where()]);
    const slow = m.slowWhere.ref(1_500);
    // Wait until it is running (its runner shows one call in flight), then kill that runner.
    let victim: number | undefined;
    while (victim === undefined) {
      await new Promise((r) => setImmediate(r));
      victim = cluster.runners.find((r) => r.inFlight > 0)?.pid;
    }
    process.kill(victim, "SIGKILL");
    const pid = await cluster.get(slow);
    expect(pid).not.toBe(victim);
    expect(cluster.runners.map((r) => r.alive)).toContain(false);
  });

  it("an object from put() lost with its runner fails with ObjectLostError, never hangs", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const ref = await cluster.put(new Float64Array(10_000).fill(1));
    const { pid } = await holderOf(cluster);
    process.kill(pid, "SIGKILL");
    const getErr = await rejectionOf(cluster.get(ref));
    expect(getErr).toBeInstanceOf(ObjectLostError);
    expect((getErr as ObjectLostError).objectId).toBe(ref.id);
    expect(await rejectionOf(m.sum(ref))).toBeInstanceOf(ObjectLostError);
    expect(await rejectionOf(cluster.get(m.sum.ref(ref)))).toBeInstanceOf(ObjectLostError);
    // The surviving runner still works, and takes new objects.
    const fresh = await cluster.put(3);
    expect(await m.add(fresh, 1)).toBe(4);
  });

  it("calls whose input's only holder dies while they wait to fetch it or run there all complete on the survivor", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    const made = m.seeded.ref(3, 200_000); // task-made: can be remade
    const { pid } = await cluster.get(made);
    const reads = Array.from({ length: 8 }, () => m.slowWhere(20, made));
    process.kill(pid, "SIGKILL");
    const results = await Promise.allSettled(reads);
    // Calls running on the dead runner are sent again (retries), the rest find the input
    // remade: every read runs on the survivor.
    const survivor = cluster.runners.find((r) => r.pid !== pid)!.pid;
    for (const r of results) expect(r).toEqual({ status: "fulfilled", value: survivor });
  });
});
