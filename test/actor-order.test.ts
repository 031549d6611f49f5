import { describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/actors.ts");

/** Each caller's entries, in the order the actor ran them. */
function byCaller(entries: [string, number][]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const [caller, seq] of entries) {
    if (!m.has(caller)) m.set(caller, []);
    m.get(caller)!.push(seq);
  }
  return m;
}

describe("an actor's mailbox", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 2 }, { m: "actors.ts" });

  it("runs each caller's calls in the order sent, with many callers at once", async () => {
    const j = await t.m.Journal.spawn();
    const n = 200;
    // The driver and six remote functions (on both runners) all send at once.
    await Promise.all([
      Promise.all(Array.from({ length: n }, (_, i) => j.note("driver", i))),
      ...Array.from({ length: 6 }, (_, w) => t.m.noteMany(j, `fn${w}`, n)),
    ]);
    const seen = byCaller(await j.all());
    expect([...seen.keys()].sort()).toEqual(["driver", "fn0", "fn1", "fn2", "fn3", "fn4", "fn5"]);
    for (const seqs of seen.values()) expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
    await j.kill();
  });

  it("runs one call at a time by default: an async method's awaits let no other call in", async () => {
    const c = await t.m.Counter.spawn(0);
    const logs = await Promise.all(["a", "b", "c"].map((tag) => c.step(tag)));
    // Each call's log is its own (arguments are copies); what matters is the gate's peak below.
    for (const [i, tag] of ["a", "b", "c"].entries()) expect(logs[i]).toEqual([`${tag}:start`, `${tag}:end`]);
    const g = await t.m.Gate.spawn();
    const peaks = await Promise.all(Array.from({ length: 5 }, () => g.hold(20)));
    expect(Math.max(...peaks)).toBe(1);
    await Promise.all([c.kill(), g.kill()]);
  });

  it("lets async methods interleave up to maxConcurrency", async () => {
    const b = await t.m.Barrier.spawn.with({ maxConcurrency: 4 })();
    // All four must be inside at once for any to return true: possible only if four run together.
    expect(await Promise.all(Array.from({ length: 4 }, () => b.meet(4, 30_000)))).toEqual([true, true, true, true]);
    const one = await t.m.Barrier.spawn();
    // One at a time: the first waits out its bound alone, then the second does.
    expect(await Promise.all([one.meet(2, 200), one.meet(2, 200)])).toEqual([false, false]);
    await Promise.all([b.kill(), one.kill()]);
  });

  it("refuses a maxConcurrency below 1 at the call site", async () => {
    await expect(t.m.Counter.spawn.with({ maxConcurrency: 0 })(1)).rejects.toThrow(/maxConcurrency must be an integer >= 1/);
  });
});
