import { describe, expect, it } from "vitest";
import { Cluster, RunnerDaemon, SerializationError } from "../src/index.ts";
import { silentLogger } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");
type V = typeof import("./fixtures/values.ts");

// A runner with a small frame limit announces it; calls and results over it fail alone,
// as SerializationError, instead of dropping the connection with everything on it.
describe("frame limit", () => {
  const limit = 256 * 1024;
  const t = useCluster<{ m: M; v: V }>(async (defer) => {
    const daemon = await RunnerDaemon.start({ port: 0, threads: 1, token: "t", maxFrame: limit, logger: silentLogger() });
    defer(() => daemon.close());
    return Cluster.create({ runners: [daemon.address], token: "t" });
  }, { m: "math.ts", v: "values.ts" });

  it("rejects too-large arguments at the call site and keeps the link", async () => {
    const slow = t.m.sleep(200); // in flight while the big call is refused
    const err = await t.m.echo(new Uint8Array(limit)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).message).toMatch(/^args are \d+ bytes encoded, over the runners' 262144-byte frame limit/);
    expect(await slow).toBe(200);
    expect(await t.m.add(1, 2)).toBe(3);
  });

  it("turns a too-large result into a SerializationError for that call only", async () => {
    const err = await t.v.floats(limit / 8 + 1000, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).message).toMatch(/^result is \d+ bytes encoded, over the 262144-byte frame limit/);
    expect(await t.m.add(2, 2)).toBe(4);
    expect(t.cluster.runners[0]!.alive).toBe(true);
  });
});
