import { expect, it } from "vitest";
import { ClusterClosedError, local } from "../src/index.ts";
import { setScaler } from "../src/driver/cluster.ts";
import type { Scaler } from "../src/driver/scale/scaler.ts";
import { fixture, rejectionOf, silentLogger } from "./helpers.ts";

// cluster.scale() and adapt() as the cluster wires them to a Scaler (slurm() sets one; here a
// recording one, on a local cluster): no Slurm needed.

class RecordingScaler implements Scaler {
  wanted = 0;
  readonly threadsPerJob = 1;
  readonly asked: number[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  scale(n: number): Promise<void> {
    this.wanted = n;
    this.asked.push(n);
    for (const w of this.waiters.filter((x) => x.n === n)) w.resolve();
    return Promise.resolve();
  }
  /** Resolves once scale(n) is asked. */
  asks(n: number): Promise<void> {
    return this.asked.includes(n) ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

it("a cluster that starts no runners refuses to scale", async () => {
  await using cluster = await local({ runners: 1, threads: 1 });
  expect(await rejectionOf(cluster.scale(2))).toBeInstanceOf(TypeError);
  expect(() => cluster.adapt({ max: 2 })).toThrow(TypeError);
});

it("scale() and adapt() go to the cluster's scaler: adapt() by the calls waiting, scale() stops it", async () => {
  const cluster = await local({ runners: 1, threads: 1 });
  const scaler = new RecordingScaler();
  setScaler(cluster, scaler, silentLogger());
  await cluster.scale(3);
  expect(scaler.wanted).toBe(3);
  expect(await rejectionOf(cluster.scale(-1))).toBeInstanceOf(TypeError);
  expect(() => cluster.adapt({ min: 2, max: 1 })).toThrow(/max/);
  // Six slow calls on one thread: adapt() wants a job per call, up to max.
  const m = await cluster.import<typeof import("./fixtures/math.ts")>(fixture("math.ts"));
  cluster.adapt({ min: 1, max: 5, intervalMs: 20, waitCount: 2 });
  const calls = Promise.all(Array.from({ length: 6 }, () => m.sleep(300)));
  await scaler.asks(5);
  await calls;
  await scaler.asks(1); // idle: back to min
  await cluster.scale(2); // stops adapting
  const asked = scaler.asked.length;
  await m.sleep(100); // adapt() would have asked again meanwhile (every 20 ms)
  expect(scaler.asked.length).toBe(asked);
  await cluster.close();
  expect(await rejectionOf(cluster.scale(1))).toBeInstanceOf(ClusterClosedError);
});
