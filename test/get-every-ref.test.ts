import { describe, expect, it } from "vitest";
import { ClusterClosedError, ObjectLostError, RemoteError, type Ref } from "../src/index.ts";
import { rejectionOf, testCluster } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Objects = typeof import("./fixtures/objects.ts");

/** Each task adds its index to the sum of up to 3 earlier tasks' results (seeded, so the graph is fixed). */
function graph(n: number): number[][] {
  let s = 7;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, i) => {
    const k = i === 0 ? 0 : Math.min(i, 1 + Math.floor(next() * 3));
    const ps = new Set<number>();
    while (ps.size < k) ps.add(Math.floor(next() * i));
    return [...ps];
  });
}

describe("get() of every Ref of a graph, as a program builds it", () => {
  const t = useCluster<{ m: Objects }>({ runners: 2, threads: 1 }, { m: "objects.ts" });
  const objectsOnRunners = async (): Promise<number> => (await t.cluster.runnerStats()).reduce((s, r) => s + r.objects, 0);

  it("reads every value right, whether it is still being made, made already, or held by a runner", async () => {
    const parents = graph(300);
    const expected: number[] = [];
    parents.forEach((ps, i) => expected.push(ps.reduce((s, j) => s + expected[j]!, i)));
    const refs: Ref<number>[] = [];
    parents.forEach((ps, i) => refs.push(t.m.total.ref([i, ...ps.map((j) => refs[j]!)]) as Ref<number>));
    // A big result among them stays on its runner: its get fetches it from there.
    const big = t.m.fill.ref(200_000, 0.25);
    const pending = refs.map((r) => t.cluster.get(r)); // asked for at once, nearly all still pending
    const bigValue = t.cluster.get(big);
    expect(await Promise.all(pending)).toEqual(expected);
    expect((await bigValue)[199_999]).toBe(0.25);
    // Again, now that every one is made: the same values.
    expect(await Promise.all(refs.map((r) => t.cluster.get(r)))).toEqual(expected);
    const v = await t.cluster.get(big);
    expect(v.length).toBe(200_000);
    for (const r of [...refs, big]) r.release();
    await expect.poll(objectsOnRunners).toBe(0);
  });

  it("a Ref released while a get of it waits: the get still reads it, then it is freed", async () => {
    const slow = t.m.slowWhere.ref(50);
    const heldBig = t.m.fill.ref(100_000, 2);
    const read = t.cluster.get(slow);
    const readBig = t.cluster.get(heldBig);
    slow.release();
    heldBig.release();
    expect(typeof (await read)).toBe("number");
    expect((await readBig)[0]).toBe(2);
    await expect.poll(objectsOnRunners).toBe(0);
  });

  it("a failed task rejects the gets of its Ref and of everything downstream; the others resolve", async () => {
    const ok = t.m.add.ref(1, 2);
    const bad = t.m.fails.ref("boom") as unknown as Ref<number>;
    const down = t.m.add.ref(bad, 1);
    const beside = t.m.add.ref(ok, 10);
    const gets = [ok, bad, down, beside].map((r) => t.cluster.get(r).then((v) => v, (e: unknown) => e));
    const [a, b, c, d] = await Promise.all(gets);
    expect(a).toBe(3);
    expect(b).toBeInstanceOf(RemoteError);
    expect(c).toBe(b);
    expect(d).toBe(13);
    for (const r of [ok, bad, down, beside]) r.release();
  });

  it("a bad get rejects rather than throwing: a released Ref, or a closed cluster", async () => {
    const r = t.m.add.ref(1, 1);
    expect(await t.cluster.get(r)).toBe(2);
    r.release();
    let p: Promise<unknown> | undefined;
    expect(() => (p = t.cluster.get(r))).not.toThrow();
    expect(await rejectionOf(p!)).toBeInstanceOf(ObjectLostError);

    const c = await testCluster(1, 1);
    const m = await c.import<Objects>(new URL("./fixtures/objects.ts", import.meta.url));
    const kept = m.add.ref(2, 3);
    expect(await c.get(kept)).toBe(5);
    await c.close();
    expect(() => (p = c.get(kept))).not.toThrow();
    expect(await rejectionOf(p!)).toBeInstanceOf(ClusterClosedError);
  });
});
