import { readdirSync, watch } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { local, type TraceSummary } from "../src/index.ts";
import { fixture, removeDir, tempDir } from "./helpers.ts";
import { checkTrace, type CheckedTrace, type XEvent } from "./trace-check.ts";
import { useCluster } from "./use-cluster.ts";

type MathM = typeof import("./fixtures/math.ts");
type Objects = typeof import("./fixtures/objects.ts");
type Spmd = typeof import("./fixtures/spmd.ts");
type Chans = typeof import("./fixtures/chans.ts");
type Retry = typeof import("./fixtures/retry.ts");

// Traces of real runner processes. Their clocks are set 5 s ahead of this process's
// (STRAND_CLOCK_SKEW_MS, read by each runner as it starts): only the offset the driver measured
// puts their spans back inside the calls that made them.

const SKEW_MS = 5000;
let dir: string;
beforeAll(async () => {
  dir = await tempDir("strand-trace-");
});
afterAll(() => removeDir(dir));

const driverCalls = (t: CheckedTrace): XEvent[] => t.slices.filter((s) => s.pid === 1 && s.cat === "call");
const runs = (t: CheckedTrace): XEvent[] => t.slices.filter((s) => s.pid !== 1 && s.cat === "call");
/** The runner-side slices of the call numbered `seq`. */
const runsOf = (t: CheckedTrace, seq: unknown): XEvent[] => runs(t).filter((s) => s.args.call === seq);
const within = (inner: XEvent, outer: XEvent, slack = 0): boolean => inner.ts >= outer.ts - slack && inner.ts + inner.dur <= outer.ts + outer.dur + slack;

/** Stops the trace into a file and reads it back as a viewer would. */
async function stopInto(stop: (file: string) => Promise<TraceSummary>, name: string): Promise<{ summary: TraceSummary; t: CheckedTrace }> {
  const file = path.join(dir, name);
  const summary = await stop(file);
  return { summary, t: checkTrace(JSON.parse(await readFile(file, "utf8"))) };
}

describe("traces of a cluster whose runners' clocks run 5 s ahead", () => {
  const t = useCluster<{ m: MathM; o: Objects; s: Spmd; c: Chans }>(async (defer) => {
    // The runners read the skew as they start; this process read its own (none) long before.
    const cacheDir = await tempDir("strand-trace-cache-"); // a fresh code cache: the first calls fetch code
    defer(() => removeDir(cacheDir));
    process.env.STRAND_CLOCK_SKEW_MS = String(SKEW_MS);
    try {
      return await local({ runners: 2, threads: 1, cacheDir });
    } finally {
      delete process.env.STRAND_CLOCK_SKEW_MS;
    }
  }, { m: "math.ts", o: "objects.ts", s: "spmd.ts", c: "chans.ts" });

  it("every call once, with its function name, in valid Trace Event JSON; spans line up after the clock correction", async () => {
    await t.cluster.trace.start();
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => t.m.add(i, 1)));
    await expect(t.m.fail("boom")).rejects.toThrow("boom");
    const { summary, t: trace } = await stopInto((f) => t.cluster.trace.stop(f), "calls.json");

    const calls = driverCalls(trace);
    expect(calls).toHaveLength(n + 1);
    expect(calls.filter((c) => c.name === "add")).toHaveLength(n);
    expect(calls.filter((c) => c.name === "fail").map((c) => c.args.error)).toEqual([expect.stringMatching(/TypeError: boom/)]);
    expect(new Set(calls.map((c) => c.args.call)).size).toBe(n + 1);
    expect(summary).toMatchObject({ calls: n + 1, dropped: { calls: 0, spans: 0, runnerSpans: 0, unflushed: [] } });

    // The runners' clocks, as measured: 5 s ahead, give or take half a round trip. A process's
    // clock (protocol/activity.ts) is its start's wall clock plus a monotonic count: if the wall
    // clock was stepped or slewed after this process started and before the runners did (seen
    // in a loaded CI run: 4.35 ms), the two differ by that much beyond the skew. What this
    // process's own clock has drifted from the wall clock is that difference, to Date.now()'s
    // millisecond (the +1).
    const drift = performance.timeOrigin + performance.now() - Date.now();
    for (const r of summary.runners) {
      expect(r.clockRttMs).not.toBeNull();
      expect(Math.abs(r.clockOffsetMs - (SKEW_MS - drift))).toBeLessThanOrEqual(r.clockRttMs! / 2 + 2);
    }
    // Each call ran once on a runner, inside its driver slice (give or take the offset's uncertainty).
    for (const c of calls) {
      const ran = runsOf(trace, c.args.call);
      expect(ran, `runs of call ${String(c.args.call)}`).toHaveLength(1);
      expect(ran[0]!.name).toBe(c.name);
      const runner = summary.runners.find((r) => trace.processNames.get(ran[0]!.pid)?.includes(r.address))!;
      expect(within(ran[0]!, c, (runner.clockRttMs! / 2) * 1000 + 1000), `${JSON.stringify(ran[0])} within ${JSON.stringify(c)}`).toBe(true);
    }
    // The first calls of a module fetched its code (a fresh cache): spans of the runners' main threads.
    const code = trace.slices.filter((s) => s.name === "code fetch");
    expect(code.length).toBeGreaterThanOrEqual(1);
    for (const s of code) {
      expect(trace.threadNames.get(`${s.pid}/${s.tid}`)).toBe("main thread");
      expect(s.args.bytes).toBeGreaterThan(1000);
    }
  });

  it("a DAG: flows from each Ref's producer to its readers, and to the runner-to-runner fetch of its object", async () => {
    await t.cluster.trace.start();
    const a = t.o.fill.ref(250_000, 1); // 2 MB: kept on the runner that made it
    const b = t.o.sum.ref(a);
    const c = t.o.total.ref(a);
    expect(await t.o.add(b as unknown as number, c as unknown as number)).toBe(500_000);
    // 30 ms readers, 16 at once on two single-thread runners: both take some, so one fetches `a`.
    const pids = await Promise.all(Array.from({ length: 16 }, () => t.o.slowWhere(30, a)));
    expect(new Set(pids).size).toBe(2);
    const { t: trace } = await stopInto((f) => t.cluster.trace.stop(f), "dag.json");

    const seqOf = (name: string): unknown => driverCalls(trace).find((s) => s.name === name)!.args.call;
    const refs = trace.flows.filter((f) => f.cat === "ref");
    for (const f of refs) expect(f.from.pid === 1 || f.to.pid === 1).toBe(false); // runner slice to runner slice
    const edge = (f: { from: XEvent; to: XEvent }): string => `${f.from.name} -> ${f.to.name}`;
    expect(refs.filter((f) => f.to.name !== "slowWhere").map(edge).sort()).toEqual(["fill -> sum", "fill -> total", "sum -> add", "total -> add"]);
    expect(refs.filter((f) => f.to.name === "slowWhere").map(edge)).toEqual(Array(16).fill("fill -> slowWhere"));
    for (const f of refs) expect(f.from.args.call).toBe(seqOf(f.from.name));

    const fetches = trace.flows.filter((f) => f.cat === "fetch");
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    const made = driverCalls(trace).find((s) => s.name === "fill")!.args.makes;
    for (const f of fetches) {
      expect(f.from.name).toBe("fill");
      expect(f.to).toMatchObject({ name: "fetch", args: { object: made, ok: true } });
      expect(f.to.args.bytes).toBeGreaterThanOrEqual(2_000_000);
      expect(f.to.pid).not.toBe(f.from.pid); // from one runner to the other
      expect(trace.processNames.get(f.from.pid)).toContain(String(f.to.args.from));
    }
    a.release();
    b.release();
    c.release();
  });

  it("SPMD: a span per collective per rank, inside that rank's run", async () => {
    await t.cluster.trace.start();
    const sums = await t.cluster.spmd(4, t.s.sumOfRanks);
    expect(sums).toEqual([6, 6, 6, 6]);
    const { t: trace } = await stopInto((f) => t.cluster.trace.stop(f), "spmd.json");

    expect(driverCalls(trace).map((s) => s.name).sort()).toEqual([0, 1, 2, 3].map((r) => `sumOfRanks (rank ${r})`));
    const rankRuns = runs(trace);
    expect(rankRuns.map((s) => s.args.rank).sort()).toEqual([0, 1, 2, 3]);
    const colls = trace.slices.filter((s) => s.cat === "collective");
    expect(colls.map((s) => [s.name, s.args.rank, s.args.size]).sort()).toEqual([0, 1, 2, 3].map((r) => ["allreduce", r, 4]));
    for (const s of colls) {
      const mine = rankRuns.filter((r) => r.args.rank === s.args.rank);
      expect(mine.some((r) => r.pid === s.pid && r.tid === s.tid && within(s, r)), JSON.stringify({ collective: s, runs: mine, all: trace.slices.filter((x) => x.pid === s.pid) })).toBe(true);
    }
  });

  it("a goroutine's wait on a channel is a span inside its run", async () => {
    await t.cluster.trace.start();
    const ch = t.cluster.chan<number>();
    const got = t.c.recvOne(ch);
    await ch.send(42); // unbuffered: returns once the goroutine took it
    expect(await got).toBe(42);
    const { t: trace } = await stopInto((f) => t.cluster.trace.stop(f), "chan.json");
    const [run] = runsOf(trace, driverCalls(trace).find((s) => s.name === "recvOne")!.args.call);
    const wait = trace.slices.find((s) => s.cat === "chan")!;
    expect(wait).toMatchObject({ name: "chan recv", pid: run!.pid, tid: run!.tid, args: { ok: true } });
    expect(wait.args.channel).toMatch(/\.c\d+$/);
    expect(within(wait, run!)).toBe(true);
  });

  it("one trace at a time; stop without start is refused", async () => {
    await expect(t.cluster.trace.stop()).rejects.toThrow(/no trace is running/);
    await t.cluster.trace.start();
    await expect(t.cluster.trace.start()).rejects.toThrow(/already running/);
    const { trace } = await t.cluster.trace.stop();
    expect(checkTrace(trace).slices).toEqual([]);
  });
});

describe("a traced call retried after its runner died", () => {
  it("shows once, with an attempt per send; the survivor's run is attempt 2", async () => {
    const markers = await tempDir("strand-trace-retry-");
    try {
      await using cluster = await local({ runners: 2, threads: 1 });
      const m = await cluster.import<Retry>(fixture("retry.ts"));
      await m.add(1, 1); // code on both runners, lanes up
      await cluster.trace.start();
      const call = m.held(markers, "a", 21);
      const [victim] = await markersReach(markers, "a", 1);
      process.kill(victim!, "SIGKILL");
      await markersReach(markers, "a", 2);
      await writeFile(path.join(markers, "go"), "");
      expect((await call).n).toBe(42);
      const { t: trace } = await stopInto((f) => cluster.trace.stop(f), "retry.json");
      const [slice, ...more] = driverCalls(trace);
      expect(more).toEqual([]);
      expect(slice).toMatchObject({ name: "held", args: { attempts: 2, ok: true } });
      const attempts = trace.slices.filter((s) => s.cat === "attempt");
      expect(attempts).toHaveLength(2);
      for (const x of attempts) expect(within(x, slice!)).toBe(true);
      // The dead runner's spans died with it; the survivor's run says which attempt it was.
      expect(runsOf(trace, slice!.args.call).map((s) => s.args.attempt)).toEqual([2]);
    } finally {
      await removeDir(markers);
    }
  });
});

/** The pids that left a marker for `tag`, once there are `n` (watching the folder: no polling). */
function markersReach(folder: string, tag: string, n: number): Promise<number[]> {
  const pids = (): number[] => readdirSync(folder).filter((f) => f.startsWith(`${tag}.`)).map((f) => Number(f.split(".")[1]));
  return new Promise((resolve) => {
    let done = false;
    const check = (): void => {
      const p = pids();
      if (done || p.length < n) return;
      done = true;
      w.close();
      resolve(p);
    };
    const w = watch(folder, check);
    check();
  });
}
