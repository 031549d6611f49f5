import { describe, expect, it } from "vitest";
import { MAX_LINEAGE_DEPTH } from "../../src/driver/calls/task-graph.ts";
import { ObjectLostError } from "../../src/errors.ts";
import type { ObjectEntry } from "../../src/driver/objects/object-entry.ts";
import { names } from "./fake-call.ts";
import { FakeCluster, nextTurn, type MadeObject } from "./fake-cluster.ts";
import type { FakeRunner } from "./fake-runner.ts";

type Outcome = { state: "pending" } | { state: "done" } | { state: "failed"; error: unknown };

/** Waits for an object the way `cluster.get` does, answering every call `runner` is sent. */
async function readThrough(c: FakeCluster, entry: ObjectEntry, runner: FakeRunner): Promise<Outcome> {
  let outcome: Outcome = { state: "pending" };
  void c.graph.whenExists(entry).then(() => (outcome = { state: "done" }), (error: unknown) => (outcome = { state: "failed", error }));
  for (let turn = 0; turn < 1000 && outcome.state === "pending"; turn++) {
    await nextTurn();
    runner.answerAll(1000);
  }
  return outcome;
}

/** The runner holding an object's copy. */
function holderOf(c: FakeCluster, entry: ObjectEntry): FakeRunner {
  const r = c.runners.find((r) => entry.holders.has(r));
  if (r === undefined) throw new Error(`${entry.id} has no holder`);
  return r;
}

/** A chain of `n` objects, each made from the one before, all kept on `runner`. */
async function chain(c: FakeCluster, n: number, runner: FakeRunner): Promise<MadeObject[]> {
  const objects: MadeObject[] = [];
  for (let i = 0; i < n; i++) objects.push(c.ref(`step${i}`, i === 0 ? [] : [objects[i - 1]!.entry]));
  while (objects.some((o) => o.entry.state === "pending")) {
    await nextTurn();
    runner.answerAll(1000);
  }
  return objects;
}

// An object lost with its runner is remade by running its task again (and its lost inputs'
// tasks first), within limits: an unbounded history is not re-run.
describe("task graph: lineage", () => {
  it("remakes an object lost with its runner by running its task again", async () => {
    const c = new FakeCluster({ threads: 4 }, { threads: 1 });
    const [first, survivor] = c.runners;
    const [o] = await chain(c, 1, first!);
    first!.lose();
    expect(await readThrough(c, o!.entry, survivor!)).toEqual({ state: "done" });
    expect(names(survivor!.sent)).toEqual(["step0"]);
    expect(o!.entry.rebuilds).toBe(1);
    expect(o!.entry.holders.has(survivor!)).toBe(true);
  });

  it(`remakes a lost chain up to ${MAX_LINEAGE_DEPTH} levels deep, oldest first`, async () => {
    const c = new FakeCluster({ threads: 4 }, { threads: 1 });
    const [first, survivor] = c.runners;
    const objects = await chain(c, MAX_LINEAGE_DEPTH, first!);
    first!.lose();
    expect(await readThrough(c, objects.at(-1)!.entry, survivor!)).toEqual({ state: "done" });
    expect(names(survivor!.sent)).toEqual(objects.map((_, i) => `step${i}`));
  });

  it("fails a read that would follow lineage deeper, running none of it", async () => {
    const c = new FakeCluster({ threads: 4 }, { threads: 1 });
    const [first, survivor] = c.runners;
    const objects = await chain(c, MAX_LINEAGE_DEPTH + 1, first!);
    first!.lose();
    const outcome = await readThrough(c, objects.at(-1)!.entry, survivor!);
    expect(outcome.state).toBe("failed");
    const error = (outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(ObjectLostError);
    expect((error as Error).message).toMatch(/lineage deeper than 32/);
    expect(names(survivor!.sent)).toEqual([]);
  });

  it("remakes one object at most 3 times", async () => {
    const c = new FakeCluster({}, {}, {}, {}, {});
    const [o] = await chain(c, 1, c.runners[0]!);
    for (let remake = 1; remake <= 3; remake++) {
      holderOf(c, o!.entry).lose();
      const next = c.runners.find((r) => r.alive)!;
      expect(await readThrough(c, o!.entry, next)).toEqual({ state: "done" });
      expect(o!.entry.rebuilds).toBe(remake);
    }
    holderOf(c, o!.entry).lose();
    const outcome = await readThrough(c, o!.entry, c.runners.find((r) => r.alive)!);
    expect(outcome.state).toBe("failed");
    expect((outcome as { error: Error }).error).toBeInstanceOf(ObjectLostError);
    expect((outcome as { error: Error }).error.message).toMatch(/remade 3 times/);
  });

  it("cannot remake a put object: reading it once its runners are lost fails", async () => {
    const c = new FakeCluster({}, {});
    const [a, b] = c.runners;
    const p = c.put(a!, 100);
    a!.lose();
    const outcome = await readThrough(c, p.entry, b!);
    expect((outcome as { error: Error }).error).toBeInstanceOf(ObjectLostError);
    expect((outcome as { error: Error }).error.message).toMatch(/cannot be remade/);
  });

  it("fails a remake whose lineage reads a put object released since", async () => {
    const c = new FakeCluster({}, {}, {});
    const [a, b, third] = c.runners;
    const p = c.put(a!, 100);
    p.entry.holders.add(b!);
    const o = c.ref("make", [p.entry]);
    await nextTurn();
    const maker = c.runners.find((r) => r.inFlight > 0)!;
    maker.keep(o.producer, 1000);
    p.ref.release();
    expect(p.entry.state).toBe("freed");
    maker.lose();
    const outcome = await readThrough(c, o.entry, third!);
    expect((outcome as { error: Error }).error).toBeInstanceOf(ObjectLostError);
    expect((outcome as { error: Error }).error.message).toMatch(/released/);
  });

  it("remakes a released object made by a task when a later object's lineage needs it", async () => {
    const c = new FakeCluster({ threads: 4 }, { threads: 1 });
    const [first, survivor] = c.runners;
    const [o1, o2] = await chain(c, 2, first!);
    o1!.ref.release();
    expect(o1!.entry.state).toBe("freed");
    first!.lose();
    expect(await readThrough(c, o2!.entry, survivor!)).toEqual({ state: "done" });
    expect(names(survivor!.sent)).toEqual(["step0", "step1"]);
  });
});
