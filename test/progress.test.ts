import { describe, expect, it } from "vitest";
import { local, progress, RemoteError, type ProgressSnapshot } from "../src/index.ts";
import { fixture } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

// cluster.progress() and progress(items) over real runner processes.

type M = typeof import("./fixtures/math.ts");
type C = typeof import("./fixtures/chans.ts");

describe("progress", () => {
  const t = useCluster<{ m: M; c: C }>({ runners: 2, threads: 1 }, { m: "math.ts", c: "chans.ts" });

  it("counts every call exactly at the end: done, failed, per function, with a rate", async () => {
    const p = t.cluster.progress();
    const ok = Array.from({ length: 40 }, (_, i) => t.m.add(i, 1));
    const bad = Array.from({ length: 7 }, (_, i) => t.m.fail(`no ${i}`));
    const echoed = t.m.echo.ref("kept"); // f.ref calls count too
    await Promise.allSettled([...ok, ...bad, t.cluster.get(echoed)]);
    const s = p.snapshot();
    expect(s).toMatchObject({ submitted: 48, done: 41, failed: 7, running: 0, runners: 2, final: false });
    expect(s.byFunction).toEqual({
      add: { submitted: 40, done: 40, failed: 0 },
      fail: { submitted: 7, done: 0, failed: 7 },
      echo: { submitted: 1, done: 1, failed: 0 },
    });
    expect(s.rate).toBeGreaterThan(0);
    p.stop();
    const end = p.snapshot();
    expect(end).toMatchObject({ submitted: 48, done: 41, failed: 7, final: true });
    expect(end.rate).toBeGreaterThan(0);
    await t.m.add(1, 1);
    expect(p.snapshot().submitted).toBe(48); // stopped: counts no more
  });

  it("sees the runners busy while calls are in flight on them", async () => {
    const p = t.cluster.progress();
    const gates = [t.cluster.chan<string>(), t.cluster.chan<string>()];
    const held = gates.map((g) => t.c.recvOne(g)); // goroutines: in flight until we send
    // A call goes to its runner as it is made (one each: the least loaded takes the next).
    expect(p.snapshot()).toMatchObject({ runnersBusy: 2, runners: 2, running: 2, submitted: 2, done: 0 });
    await Promise.all(gates.map((g) => g.send("go")));
    expect(await Promise.all(held)).toEqual(["go", "go"]);
    expect(p.snapshot()).toMatchObject({ runnersBusy: 0, running: 0, submitted: 2, done: 2 });
    p.stop();
  });

  it("progress(items) over Refs waits until each object is made and settles as the Ref itself", async () => {
    const refs = Array.from({ length: 6 }, (_, i) => t.m.add.ref(i, i));
    const seen: ProgressSnapshot[] = [];
    const made = await progress(refs, { output: (s) => seen.push(s), cluster: t.cluster });
    made.forEach((r, i) => expect(r).toBe(refs[i]));
    expect(await Promise.all(made.map((r) => t.cluster.get(r)))).toEqual([0, 2, 4, 6, 8, 10]);
    expect(seen.at(-1)).toMatchObject({ submitted: 6, done: 6, failed: 0, final: true, runners: 2 });
    for (const r of refs) r.release();
  });

  it("progress(items) mixes promises and Refs; a failed task fails it, or is reported with settled: true", async () => {
    const bad = t.m.fail.ref("no object");
    const good = t.m.add.ref(1, 2);
    await expect(progress([t.m.add(1, 1), good, bad], { output: "none" })).rejects.toBeInstanceOf(RemoteError);
    const all = await progress([t.m.add(1, 1), good, bad], { settled: true, output: "none" });
    expect(all.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(all[0]).toEqual({ status: "fulfilled", value: 2 });
    expect(all[1]).toEqual({ status: "fulfilled", value: good });
    expect((all[2] as PromiseRejectedResult).reason).toBeInstanceOf(RemoteError);
  });
});

describe("cluster.progress() and close", () => {
  it("the loop gets a final snapshot with every call and ends when the cluster closes", async () => {
    const cluster = await local({ runners: 1, threads: 1 });
    const m = await cluster.import<M>(fixture("math.ts"));
    const seen: ProgressSnapshot[] = [];
    const loop = (async () => {
      for await (const s of cluster.progress({ intervalMs: 0 })) seen.push(s);
    })();
    await Promise.all(Array.from({ length: 25 }, (_, i) => m.add(i, 0)));
    await cluster.close();
    await loop;
    expect(seen.at(-1)).toMatchObject({ submitted: 25, done: 25, failed: 0, running: 0, runners: 1, final: true });
    expect(seen.filter((s) => s.final)).toHaveLength(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
    const late: ProgressSnapshot[] = [];
    for await (const s of cluster.progress()) late.push(s); // a closed cluster: one final snapshot
    expect(late).toEqual([expect.objectContaining({ submitted: 0, final: true })]);
  });
});
