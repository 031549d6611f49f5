import { describe, expect, it } from "vitest";
import { local, type Ref } from "../src/index.ts";
import { fixture, rejectionOf } from "./helpers.ts";

type Objects = typeof import("./fixtures/objects.ts");

// Graph calls whose inputs came back inline travel in one frame per turn (T.GraphCalls,
// protocol/graph-call-batch.ts); those with an input that did not (held by a runner, or
// inline in more than one segment) keep a Call frame of their own. Real runners, real lanes:
// every kind mixed in one turn, and each caller gets its own value.

describe("graph calls batched per turn", () => {
  it("a turn mixing batched and unbatched graph calls: every value and failure reaches its own reader", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await Promise.all([m.add(0, 0), m.add(0, 0)]); // the module is warm on both runners, so graph calls take the lanes
    while (cluster.runners.some((r) => r.lanes.length < 1)) await m.add(0, 0);

    // Roots of every kind: small numbers, a small array, an inline result of two segments
    // (a 40 KB Float64Array travels as an attachment), a result held by its runner (800 KB),
    // and a failure.
    const ones = Array.from({ length: 20 }, (_, i) => m.add.ref(i, 1));
    const small = m.fill.ref(8, 0.5);
    const twoSegments = m.fill.ref(5_000, 2);
    const held = m.fill.ref(100_000, 1);
    const failed = m.fails.ref("root failed");
    // One turn of readers: chains, fan-ins, calls that keep nothing, and each kind of input.
    const chain: Ref<number>[] = [];
    let last = ones[0]!;
    for (let i = 0; i < 40; i++) chain.push((last = m.add.ref(last, ones[i % ones.length]!)));
    const fanIn = m.total.ref(ones);
    const readers = [
      m.total(ones.slice(0, 3)), // reads Refs, keeps nothing
      m.sum(small), // batched: one small segment
      m.sum(twoSegments), // a frame of its own: two segments
      m.sum(held), // a frame of its own: held by a runner
    ];
    const mixed = m.total.ref([small, ones[1]!, held]); // mixed: a frame of its own
    const afterFailure = m.add.ref(failed, 1);
    const afterThat = m.add.ref(afterFailure, 1);

    const want = (i: number): number => i + 1;
    let v = want(0);
    const chainWant = Array.from({ length: 40 }, (_, i) => (v += want(i % 20)));
    expect(await Promise.all(chain.map((r) => cluster.get(r)))).toEqual(chainWant);
    expect(await cluster.get(fanIn)).toBe(Array.from({ length: 20 }, (_, i) => want(i)).reduce((a, b) => a + b));
    expect(await readers[0]).toBe(1 + 2 + 3);
    expect(await readers[1]).toBe(4);
    expect(await readers[2]).toBe(10_000);
    expect(await readers[3]).toBe(100_000);
    expect(await cluster.get(mixed)).toBe(4 + 2 + 100_000);
    expect((await cluster.get(small)).length).toBe(8);
    expect(await rejectionOf(cluster.get(afterThat))).toMatchObject({ message: expect.stringContaining("root failed") });
    for (const r of [...ones, ...chain, small, twoSegments, held, failed, fanIn, mixed, afterFailure, afterThat]) r.release();
  });

  it("2,000 graph calls issued in one turn come back whole, each call reading its own inputs (batches of hundreds)", async () => {
    await using cluster = await local({ runners: 2, threads: 1 });
    const m = await cluster.import<Objects>(fixture("objects.ts"));
    await Promise.all([m.add(0, 0), m.add(0, 0)]);
    while (cluster.runners.some((r) => r.lanes.length < 1)) await m.add(0, 0);
    const roots = Array.from({ length: 64 }, (_, i) => m.add.ref(i, 0));
    await Promise.all(roots.map((r) => cluster.get(r))); // every input inline at the driver: the next turn batches all
    const n = 2_000;
    const refs = Array.from({ length: n }, (_, i) => m.add.ref(roots[i % 64]!, roots[(i * 7) % 64]!));
    const got = await Promise.all(refs.map((r) => cluster.get(r)));
    expect(got).toEqual(Array.from({ length: n }, (_, i) => (i % 64) + ((i * 7) % 64)));
    for (const r of [...roots, ...refs]) r.release();
    // Every object freed once released: nothing of the batches was kept on the runners.
    const stats = await cluster.runnerStats();
    expect(stats.reduce((s, x) => s + x.objects, 0)).toBe(0);
  });
});
