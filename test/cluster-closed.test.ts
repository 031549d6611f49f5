import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClosedError, local, RunnerLostError, StrandError, type Cluster, type Ref, type Remote } from "../src/index.ts";
import { fixture, rejectionOf } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");
type S = typeof import("./fixtures/spmd.ts");

function expectClosed(err: unknown, operation: string): void {
  expect(err).toBeInstanceOf(ClusterClosedError);
  expect(err).toBeInstanceOf(StrandError);
  expect(err).not.toBeInstanceOf(RunnerLostError);
  expect((err as ClusterClosedError).code).toBe("ERR_STRAND_CLUSTER_CLOSED");
  expect((err as Error).message).toBe(`${operation}: the cluster is closed`);
}

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("a closed cluster", () => {
  let cluster: Cluster;
  let m: Remote<M>;
  let s: Remote<S>;
  let putRef: Ref<number[]>;
  let callRef: Ref<number>;

  beforeAll(async () => {
    cluster = await local({ runners: 1, threads: 1 });
    m = await cluster.import<M>(fixture("math.ts"));
    s = await cluster.import<S>(fixture("spmd.ts"));
    putRef = await cluster.put([1, 2, 3]);
    callRef = m.add.ref(1, 2);
    expect(await cluster.get(callRef)).toBe(3);
    await cluster.close();
  });
  afterAll(() => cluster.close());

  it("refuses calls with ClusterClosedError naming the function, whatever their retries", async () => {
    expectClosed(await rejectionOf(m.add(1, 2)), "add");
    expectClosed(await rejectionOf(m.add.with({ retries: 0 })(1, 2)), "add");
    expectClosed(thrownBy(() => m.add.ref(1, 2)), "add");
    const g = m.add.go(1, 2);
    expectClosed(await rejectionOf(g.result), "add");
  });

  it("refuses put and broadcast", async () => {
    expectClosed(await rejectionOf(cluster.put(1)), "put");
    expectClosed(await rejectionOf(cluster.broadcast(1)), "broadcast");
  });

  it("refuses get, even of a value the driver holds", async () => {
    expectClosed(await rejectionOf(cluster.get(putRef)), "get");
    expectClosed(await rejectionOf(cluster.get(callRef)), "get");
  });

  it("refuses new channels", () => {
    expectClosed(thrownBy(() => cluster.chan()), "chan");
  });

  it("refuses SPMD jobs", async () => {
    expectClosed(await rejectionOf(cluster.spmd(2, s.rankInfo)), "spmd");
  });

  it("closes again without complaint", async () => {
    await expect(cluster.close()).resolves.toBeUndefined();
  });
});
