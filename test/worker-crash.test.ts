import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteError, type Cluster, type Remote } from "../src/index.ts";
import { fixture, testCluster } from "./helpers.ts";

type Crash = typeof import("./fixtures/crash.ts");

// A worker thread that dies fails the call it was running, with the reason; the runner
// replaces the thread and keeps serving.
describe("a worker thread that dies", () => {
  let cluster: Cluster;
  let m: Remote<Crash>;
  beforeAll(async () => {
    cluster = await testCluster(1, 1);
    m = await cluster.import<Crash>(fixture("crash.ts"));
  });
  afterAll(() => cluster.close());

  it("by process.exit() fails its call with RemoteError and the runner serves the next call", async () => {
    const err = await m.exitThread().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteName).toBe("WorkerDied");
    expect((err as RemoteError).functionName).toBe("exitThread");
    expect(await m.add(2, 2)).toBe(4);
  });

  it("by an exception thrown from a timer fails its call and names the exception", async () => {
    const err = await m.throwLater().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).message).toMatch(/thrown from a timer/);
    expect(await m.add(3, 4)).toBe(7);
    const [stats] = await cluster.runnerStats();
    expect(stats!.workerRestarts).toBeGreaterThanOrEqual(2);
    expect(cluster.runners[0]!.alive).toBe(true);
  });
});
