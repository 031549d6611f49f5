import { describe, expect, it } from "vitest";
import { local, ObjectLostError, RemoteError, SerializationError, type Ref } from "../src/index.ts";
import { rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Objects = typeof import("./fixtures/objects.ts");

/** One value of each type the codec carries (as in values.test.ts), small and attachment-sized. */
const everyType: Record<string, unknown> = {
  undefined: undefined,
  null: null,
  number: -1.5,
  bigint: -(10n ** 30n),
  string: "ü 😀 \u0000",
  longString: "x".repeat(100_000),
  nested: { a: { b: [1, { c: [undefined, null, "d"] }] } },
  map: new Map<unknown, unknown>([[{ k: 1 }, "object key"], [2n, [1]]]),
  set: new Set<unknown>([1, "1", { a: 1 }]),
  date: new Date(Date.UTC(2024, 1, 29)),
  regexp: /^a(?<g>b+)c$/giu,
  arrayBuffer: new Uint8Array([1, 2, 3]).buffer,
  dataView: new DataView(new Uint8Array(64).map((_, i) => i).buffer, 8, 40),
  int16: new Int16Array([-32768, 32767]),
  float64: new Float64Array([Math.PI, -0, NaN]),
  bigFloat64: new Float64Array(100_000).map((_, i) => i / 7),
  bigUint64: new BigUint64Array([0n, 2n ** 64n - 1n]),
  buffer: Buffer.from("a Buffer"),
  bigBuffer: Buffer.alloc(200_000, 7),
  error: Object.assign(new TypeError("as a value"), { code: "E_X" }),
};

describe("object references", () => {
  const t = useCluster<{ m: Objects }>({ runners: 2, threads: 1 }, { m: "objects.ts" });

  it("put then get returns every value type intact", async () => {
    for (const [name, value] of Object.entries(everyType)) {
      const ref = await t.cluster.put(value);
      expect({ [name]: await t.cluster.get(ref) }).toStrictEqual({ [name]: value });
      ref.release();
    }
  });

  it("a Ref argument arrives as its value, for every value type, on either runner", async () => {
    for (const [name, value] of Object.entries(everyType)) {
      const ref = await t.cluster.put(value);
      // Several calls at once: some run where the object is, some fetch it from there.
      const outs = await Promise.all([t.m.echo(ref), t.m.echo(ref), t.m.echo(ref), t.m.echo(ref)]);
      for (const out of outs) expect({ [name]: out }).toStrictEqual({ [name]: value });
      ref.release();
    }
  });

  it("Refs nested anywhere in the arguments (arrays, objects, Maps, beside plain values) arrive as values", async () => {
    const a = await t.cluster.put(new Float64Array([1, 2, 3]));
    const b = await t.cluster.put(10);
    const c = t.m.add.ref(100, 1000);
    const args = { list: [a, 1, [b, { deep: c }]], map: new Map([["x", b]]), again: a };
    expect(await t.m.total(args)).toBe(6 + 1 + 10 + 1100 + 10 + 6);
    // The same Ref twice in one call is one value, not two copies.
    const [x, y] = (await t.m.echo([a, a])) as unknown[];
    expect(x).toBe(y);
    for (const r of [a, b, c]) r.release();
  });

  // Regression: a big frame lands in shared memory, and msgpackr's native string decoder
  // misread a header of 140 bytes or more there ("undecodable header"): the runner dropped
  // the driver. Sixteen stored Refs beside a big argument make such a header.
  it("a call with a big argument and many Refs (a long header in a big frame) runs", async () => {
    const refs = await Promise.all(Array.from({ length: 16 }, (_, i) => t.cluster.put(new Float64Array(10_000).fill(i))));
    const big = new Float64Array(20_000).fill(1);
    const out = (await t.m.echo.with({ timeout: 30_000 })([big, ...refs])) as Float64Array[];
    expect(out.map((a) => a[0])).toEqual([1, ...refs.map((_, i) => i)]);
    for (const r of refs) r.release();
  });

  // The Call frame puts the inline values of small results after the arguments' own
  // attachments (call-frame.ts): each must land where its Ref stood, whatever its type.
  it("small f.ref() results sent inline beside typed-array arguments arrive each in its place", async () => {
    const small = [t.m.echo.ref(new Float64Array([1.5, 2.5])), t.m.add.ref(20, 22), t.m.echo.ref(new Int16Array([-7, 7])), t.m.echo.ref("s")];
    const attached = new Float64Array(1000).fill(3);
    const out = (await t.m.echo([attached, small[0], new Uint8Array([9, 8]), small[1], { nested: [small[2], small[3]] }])) as unknown[];
    expect(out[0]).toEqual(attached);
    expect(out[1]).toEqual(new Float64Array([1.5, 2.5]));
    expect(out[2]).toEqual(new Uint8Array([9, 8]));
    expect(out[3]).toBe(42);
    expect(out[4]).toEqual({ nested: [new Int16Array([-7, 7]), "s"] });
    for (const r of small) r.release();
  });

  it("f.ref() keeps the result remote: the driver receives only its size until get()", async () => {
    const before = t.cluster.runners.reduce((s, r) => s + r.bytesReceived, 0);
    const r = t.m.fill.ref(1_000_000, 0.5); // 8 MB
    const total = await t.m.sum(r);
    const received = t.cluster.runners.reduce((s, x) => s + x.bytesReceived, 0) - before;
    expect(total).toBe(500_000);
    expect(received).toBeLessThan(64 * 1024);
    const v = await t.cluster.get(r);
    expect(v).toBeInstanceOf(Float64Array);
    expect(v.length).toBe(1_000_000);
    expect(v[999_999]).toBe(0.5);
    r.release();
  });

  it("a small f.ref() result comes back to the driver, which hands it to the calls that read it: no runner stores or fetches it", async () => {
    const before = await t.cluster.runnerStats();
    const small = t.m.add.ref(20, 22);
    const readers = await Promise.all(Array.from({ length: 6 }, (_, i) => t.m.add(small, i)));
    expect(readers).toEqual([42, 43, 44, 45, 46, 47]);
    expect(await t.cluster.get(small)).toBe(42);
    const after = await t.cluster.runnerStats();
    after.forEach((s, i) => {
      expect(s.objects).toBe(before[i]!.objects);
      expect(s.objectFetches).toBe(before[i]!.objectFetches);
    });
    expect(t.cluster.stats.objects).toBeGreaterThanOrEqual(1);
    small.release();
  });

  it("a failed f.ref() task rejects get() and every call given its Ref, with the task's RemoteError", async () => {
    const bad = t.m.fails.ref("boom");
    const err = await rejectionOf(t.cluster.get(bad));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).functionName).toBe("fails");
    const downstream = await rejectionOf(t.m.add(bad as unknown as Ref<number>, 1));
    expect(downstream).toBe(err);
    // A dependent of a dependent fails the same way, and nothing hangs.
    const chained = t.m.add.ref(t.m.add.ref(bad as unknown as Ref<number>, 1), 1);
    expect(await rejectionOf(t.cluster.get(chained))).toBe(err);
  });

  it("bad Refs fail at the call site: released, from another cluster, or inside a put value", async () => {
    const r = await t.cluster.put(1);
    r.release();
    r.release(); // idempotent
    expect(await rejectionOf(t.m.add(r, 1))).toBeInstanceOf(ObjectLostError);
    expect(await rejectionOf(t.cluster.get(r))).toBeInstanceOf(ObjectLostError);
    expect(() => t.m.add.ref(r, 1)).toThrow(ObjectLostError);

    await using other = await local({ runners: 1, threads: 1 });
    const foreign = await other.put(5);
    const err = await rejectionOf(t.m.add(foreign, 1));
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).path).toBe("args");

    const inner = await t.cluster.put(2);
    const putErr = await rejectionOf(t.cluster.put({ inner }));
    expect(putErr).toBeInstanceOf(SerializationError);
    expect((putErr as Error).message).toMatch(/holds a Ref/);
    inner.release();
  });

  it("unserializable arguments of f.ref() throw at the call site, naming the path", () => {
    expect(() => t.m.echo.ref({ f: () => 1 } as never)).toThrow(/args\[0\]\.f is a function/);
  });

  it("big typed arrays reach the worker threads in shared memory: one copy on the runner serves every call", async () => {
    const ref = await t.cluster.put(new Float64Array(100_000));
    expect(await Promise.all([t.m.inSharedMemory(ref), t.m.inSharedMemory(ref), t.m.inSharedMemory(ref)])).toEqual([true, true, true]);
    const stats = await t.cluster.runnerStats();
    expect(stats.reduce((s, r) => s + r.objectBytes, 0)).toBeLessThan(2 * 800_000 + 1024); // at most one copy per runner
    ref.release();
  });

  it("puts go to the runner holding the fewest of this driver's put bytes", async () => {
    const holder = async (): Promise<string[]> => (await t.cluster.runnerStats()).filter((r) => r.objectBytes > 500_000).map((r) => r.address);
    const a = await t.cluster.put(new Uint8Array(1_000_000));
    const [onA] = await holder();
    const b = await t.cluster.put(new Uint8Array(1_000_000));
    expect((await holder()).sort()).toEqual(t.cluster.runners.map((r) => r.address).sort());
    a.release(); // A's runner is now the emptier one
    const c = await t.cluster.put(new Uint8Array(1_000_000));
    expect(await t.cluster.get(c)).toHaveLength(1_000_000);
    expect((await t.cluster.runnerStats()).find((r) => r.address === onA)!.objectBytes).toBeGreaterThan(500_000);
    b.release();
    c.release();
  });

  it("broadcast stores one copy on every runner; calls then read it where they run", async () => {
    const v = new Float64Array(500_000).fill(2);
    const before = await t.cluster.runnerStats();
    const ref = await t.cluster.broadcast(v);
    const after = await t.cluster.runnerStats();
    after.forEach((s, i) => expect(s.objectBytes - before[i]!.objectBytes).toBeGreaterThanOrEqual(v.byteLength));
    const fetchesBefore = after.reduce((s, x) => s + x.objectFetches, 0);
    expect(await Promise.all(Array.from({ length: 8 }, () => t.m.sum(ref)))).toEqual(Array(8).fill(1_000_000));
    const fetchesAfter = (await t.cluster.runnerStats()).reduce((s, x) => s + x.objectFetches, 0);
    expect(fetchesAfter).toBe(fetchesBefore); // nothing left to fetch
    ref.release();
  });
});

describe("broadcast to four runners", () => {
  it("the driver sends the value once; runners copy it along a tree, none serving more than two", async () => {
    await using cluster = await local({ runners: 4, threads: 1 });
    const size = 4_000_000;
    const sentBefore = cluster.runners.reduce((s, r) => s + r.bytesSent, 0);
    const ref = await cluster.broadcast(new Uint8Array(size).fill(9));
    const sent = cluster.runners.reduce((s, r) => s + r.bytesSent, 0) - sentBefore;
    expect(sent).toBeGreaterThanOrEqual(size);
    expect(sent).toBeLessThan(size + 64 * 1024);
    const stats = await cluster.runnerStats();
    expect(stats.map((s) => s.objects)).toEqual([1, 1, 1, 1]);
    expect(stats.reduce((s, r) => s + r.objectFetches, 0)).toBe(3);
    expect(Math.max(...stats.map((s) => s.objectsServed))).toBeLessThanOrEqual(2); // log2(4) rounds
    ref.release();
    expect((await cluster.runnerStats()).map((s) => s.objects)).toEqual([0, 0, 0, 0]);
  });
});
