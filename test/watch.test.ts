import { describe, expect, it } from "vitest";
import type { RunnerActivity } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type MathModule = typeof import("./fixtures/math.ts");

/** Collects activity until `done` says it has seen enough; fails after 20 s with what it saw. */
function collect(cluster: { watch: (l: (a: RunnerActivity) => void, o: { intervalMs: number; spans: boolean }) => () => void }, spans: boolean, done: (seen: RunnerActivity[]) => boolean): Promise<RunnerActivity[]> {
  return new Promise((resolve, reject) => {
    const seen: RunnerActivity[] = [];
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`watch: gave up; saw ${seen.length} messages: ${JSON.stringify(seen.map((a) => ({ runner: a.runner, spans: a.spans.length })))}`));
    }, 20_000);
    const stop = cluster.watch((a) => {
      seen.push(a);
      if (done(seen)) {
        clearTimeout(timer);
        stop();
        resolve(seen);
      }
    }, { intervalMs: 100, spans });
  });
}

describe("watching runners", () => {
  const t = useCluster<{ m: MathModule }>({ runners: 2, threads: 2 }, { m: "math.ts" });

  it("reports every runner's counters and usage", async () => {
    await t.m.add(1, 2);
    const seen = await collect(t.cluster, false, (s) => new Set(s.map((a) => a.runner)).size === 2);
    const addresses = t.cluster.runners.map((r) => r.address).sort();
    expect([...new Set(seen.map((a) => a.runner))].sort()).toEqual(addresses);
    for (const a of seen) {
      expect(a.usage.threads).toBe(2);
      expect(a.usage.rss).toBeGreaterThan(10_000_000);
      expect(a.usage.cpu).toBeGreaterThanOrEqual(0);
      expect(a.stats.objectBytesLimit).toBeGreaterThan(0);
      expect(a.spans).toEqual([]); // not asked for
    }
  });

  it("gives a span per call, on lanes and on the main link, failures with their error", async () => {
    const before = Date.now() * 1000;
    // A watcher first, so the runners record; then calls of every path.
    const target = 40;
    const spansSeen = collect(t.cluster, true, (s) => s.flatMap((a) => a.spans).filter((x) => x.kind === "call" && x.start >= before).length >= target + 2);
    // Give the runners the Watch before calling: the first Activity of each proves it arrived.
    await collect(t.cluster, true, (s) => new Set(s.map((a) => a.runner)).size === 2);
    await Promise.all(Array.from({ length: target }, (_, i) => t.m.add(i, 1)));
    await t.m.add.with({ timeout: 10_000 })(5, 5); // solo: the main link and piscina
    await expect(t.m.fail("boom")).rejects.toThrow("boom");
    const calls = (await spansSeen).flatMap((a) => a.spans.map((s) => ({ ...s, runner: a.runner }))).filter((s) => s.kind === "call" && s.start >= before);
    const adds = calls.filter((s) => s.name === "add");
    expect(adds.length).toBeGreaterThanOrEqual(target + 1);
    for (const s of adds) {
      expect(s.ok).toBe(true);
      expect(s.thread).toBeGreaterThan(0);
      expect(s.dur).toBeGreaterThanOrEqual(0);
      expect(s.owner).not.toBeNull();
      expect(s.callId).toBeGreaterThan(0);
      expect(s.bytes).toBeGreaterThan(0);
    }
    const failed = calls.find((s) => s.name === "fail");
    expect(failed?.ok).toBe(false);
    expect(failed?.error).toMatch(/TypeError: boom/);
    // Two runners × two threads: spans name the threads that ran them.
    expect(new Set(adds.map((s) => `${s.runner}/${s.thread}`)).size).toBeGreaterThanOrEqual(2);
  });

  it("merges back-to-back calls for a watcher that asks, counting every call; a watcher of every span stops the merging", async () => {
    // echo, which no other test here calls: a span held from an earlier test cannot absorb these.
    const calls = 60;
    const echoes = (seen: RunnerActivity[]) => seen.flatMap((a) => a.spans).filter((s) => s.kind === "call" && s.name === "echo");
    const merged: RunnerActivity[] = [];
    const stop = t.cluster.watch((a) => merged.push(a), { intervalMs: 100, spans: true, mergeMicros: 1_000_000 });
    await collect(t.cluster, false, (s) => new Set(s.map((a) => a.runner)).size === 2); // both runners asked
    for (let i = 0; i < calls; i++) await t.m.echo(i); // one after another: back to back on few threads
    const total = (): number => echoes(merged).reduce((n, s) => n + (s.count ?? 1), 0);
    await collect(t.cluster, false, () => total() >= calls);
    expect(total()).toBe(calls);
    expect(echoes(merged).length).toBeLessThan(calls);
    for (const s of echoes(merged)) expect(s.busy).toBeLessThanOrEqual(s.dur);
    // A watcher of every span as well: the runners stop merging.
    const every: RunnerActivity[] = [];
    const stopEvery = t.cluster.watch((a) => every.push(a), { intervalMs: 100, spans: true });
    await collect(t.cluster, false, (s) => new Set(s.map((a) => a.runner)).size === 2);
    for (let i = 0; i < 10; i++) await t.m.echo(i);
    await collect(t.cluster, false, () => echoes(every).length >= 10);
    expect(echoes(every).map((s) => s.count)).toEqual(Array(echoes(every).length).fill(1));
    stopEvery();
    stop();
  });

  it("stops asking when the last watcher stops", async () => {
    let heard = 0;
    const stop = t.cluster.watch(() => heard++, { intervalMs: 50 });
    await collect(t.cluster, false, (s) => s.length >= 4);
    stop();
    // The runners were told to stop; what was already on its way may still arrive.
    await t.m.add(1, 1);
    const after = heard;
    await collect(t.cluster, false, (s) => s.length >= 2); // another watcher still works
    expect(heard - after).toBeLessThanOrEqual(2);
  });

  it("refuses a bad interval at the call site", () => {
    expect(() => t.cluster.watch(() => {}, { intervalMs: 0 })).toThrow(TypeError);
    expect(() => t.cluster.watch(() => {}, { intervalMs: Number.NaN })).toThrow(/intervalMs/);
    expect(() => t.cluster.watch(() => {}, { spans: true, mergeMicros: -1 })).toThrow(/mergeMicros/);
  });
});
