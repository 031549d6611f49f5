import { describe, expect, it } from "vitest";
import { RemoteError } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type Crash = typeof import("./fixtures/crash.ts");

// A worker thread that dies fails the call it was running, with the reason; the runner
// replaces the thread and keeps serving.
describe("a worker thread that dies", () => {
  const t = useCluster<{ m: Crash }>({ runners: 1, threads: 1 }, { m: "crash.ts" });

  it("by process.exit() fails its call with RemoteError and the runner serves the next call", async () => {
    const err = await t.m.exitThread().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteName).toBe("WorkerDied");
    expect((err as RemoteError).functionName).toBe("exitThread");
    expect(await t.m.add(2, 2)).toBe(4);
  });

  it("by an exception thrown from a timer fails its call and names the exception", async () => {
    const err = await t.m.throwLater().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).message).toMatch(/thrown from a timer/);
    expect(await t.m.add(3, 4)).toBe(7);
    const [stats] = await t.cluster.runnerStats();
    expect(stats!.workerRestarts).toBeGreaterThanOrEqual(2);
    expect(t.cluster.runners[0]!.alive).toBe(true);
  });
});
