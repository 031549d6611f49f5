import { describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/actors.ts");

describe("actor methods take and give", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "actors.ts" });

  it("channels: a method sends on a driver's channel, another drains one", async () => {
    const p = await t.m.Pump.spawn.with({ maxConcurrency: 2 })();
    const ch = t.cluster.chan<number>(4);
    const filled = p.fill(ch, 50);
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    expect(await filled).toBe(50);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const input = t.cluster.chan<number>(0);
    const drained = p.drain(input);
    for (let i = 1; i <= 10; i++) await input.send(i);
    await input.close();
    expect(await drained).toBe(55);
    await p.kill();
  });

  it("Refs: small ones inline, big ones stored on a runner, and a Ref made by another call", async () => {
    const p = await t.m.Pump.spawn();
    const n = 100_000; // 800 KB: kept on the runner that made it, not by the driver
    const big = t.m.ramp.ref(n);
    expect(await p.total(big)).toBe((n * (n - 1)) / 2);
    const small = await t.cluster.put(Float64Array.of(1, 2, 3));
    expect(await p.total(small)).toBe(6);
    // A method's result as a Ref, read by a function.
    const r = p.total.ref(small);
    expect(await t.cluster.get(r)).toBe(6);
    await p.kill();
  });
});
