import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { blockPoolStats, loadBlockPool } from "../src/transport/native-pool.ts";
import { useCluster } from "./use-cluster.ts";

type Big = typeof import("./fixtures/big-values.ts");

// Big values on every path that now reuses or avoids memory: frames read straight into their
// own buffer (transport/read-into.ts) or into the native block pool's memory where it is
// built (transport/native-pool.ts: the driver's results and gets, the runner's arguments,
// puts and fetched objects), results copied into pooled memory and given back once written
// (runner/snapshot-pool.ts). Each value is checked byte for byte, and values kept
// from earlier calls are checked again after many more big calls: a buffer reused while
// someone still held it would show up as changed bytes.

const MiB = 1 << 20;

/** A typed array of `bytes` bytes whose content depends on `seed`. */
function pattern<T extends ArrayBufferView>(make: (b: ArrayBuffer) => T, bytes: number, seed: number): T {
  const b = new ArrayBuffer(bytes);
  const u = new Uint8Array(b);
  for (let i = 0; i < bytes; i++) u[i] = (i * 31 + seed * 7 + (i >> 12)) & 0xff;
  return make(b);
}

const same = (a: ArrayBufferView | ArrayBuffer, b: ArrayBufferView | ArrayBuffer): boolean => {
  const bytesOf = (v: ArrayBufferView | ArrayBuffer): Buffer => (v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  return bytesOf(a).equals(bytesOf(b));
};

/** Every kind of binary value, each `bytes` big. */
function everyKind(bytes: number, seed: number): ArrayBufferView[] {
  return [
    pattern((b) => Buffer.from(b), bytes, seed),
    pattern((b) => new Uint8Array(b), bytes, seed + 1),
    pattern((b) => new Int8Array(b), bytes, seed + 2),
    pattern((b) => new Uint8ClampedArray(b), bytes, seed + 3),
    pattern((b) => new Int16Array(b), bytes, seed + 4),
    pattern((b) => new Uint16Array(b), bytes, seed + 5),
    pattern((b) => new Int32Array(b), bytes, seed + 6),
    pattern((b) => new Uint32Array(b), bytes, seed + 7),
    pattern((b) => new Float32Array(b), bytes, seed + 8),
    pattern((b) => new Float64Array(b), bytes, seed + 9),
    pattern((b) => new BigInt64Array(b), bytes, seed + 10),
    pattern((b) => new BigUint64Array(b), bytes, seed + 11),
    pattern((b) => new DataView(b), bytes, seed + 12),
  ];
}

describe("big values", () => {
  const t = useCluster<{ big: Big }>({ runners: 2, threads: 1 }, { big: "big-values.ts" });
  // The pool is built on first use in the background: wait for it, so the values below go
  // through it (where this machine can build it) rather than race the build.
  const native = spawnSync(process.env.CXX || "c++", ["--version"]).status === 0;
  beforeAll(async () => {
    await loadBlockPool();
  });

  it("every binary kind, small and big, comes back from echo as it went, with its class", async () => {
    for (const bytes of [64, 64 * 1024, 2 * MiB + 8]) {
      const values = everyKind(bytes, bytes);
      const back = (await Promise.all(values.map((v) => t.big.echo(v)))) as ArrayBufferView[];
      back.forEach((b, i) => {
        expect((b as object).constructor).toBe(values[i]!.constructor);
        expect(same(b, values[i]!)).toBe(true);
      });
      const ab = pattern((b) => new Uint8Array(b), bytes, 99).buffer as ArrayBuffer;
      const abBack = (await t.big.echo(ab)) as ArrayBuffer;
      expect(abBack).toBeInstanceOf(ArrayBuffer);
      expect(same(abBack, ab)).toBe(true);
    }
  });

  it("a structure holding several big arrays, nested in maps and arrays, survives", async () => {
    const a = pattern((b) => new Float64Array(b), 3 * MiB, 1);
    const b = pattern((b) => new Int32Array(b), MiB + 64, 2);
    const value = { a, list: [b, "x", 3], map: new Map([["k", a.subarray(8, 4000)]]), same: a };
    const back = (await t.big.echo(value)) as typeof value;
    expect(same(back.a, a)).toBe(true);
    expect(same(back.list[0] as Int32Array, b)).toBe(true);
    expect(back.list.slice(1)).toEqual(["x", 3]);
    expect(same(back.map.get("k")!, a.subarray(8, 4000))).toBe(true);
    expect(back.same).toBe(back.a); // shared references stay shared
  });

  it("a typed array kept from a call keeps its bytes through many more big calls", async () => {
    // Results from one scratch buffer on the runner: each call's copy goes through the pool.
    const n = (3 * MiB) / 8;
    const kept = await t.big.fillScratch(n, 7);
    const keptEcho = (await t.big.echo(pattern((b) => new Float64Array(b), 3 * MiB, 5))) as Float64Array;
    const keptSnapshot = keptEcho.slice();
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      later.push(t.big.fillScratch(n, 100 + i));
      later.push(t.big.echo(pattern((b) => new Float64Array(b), (1 + (i % 4)) * MiB, i)));
      if (i % 8 === 7) await Promise.all(later.splice(0)); // many in flight, and reuse between batches
    }
    await Promise.all(later);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => t.big.fillScratch(n, 200 + i)));
    results.forEach((r, i) => expect(r.every((x) => x === 200 + i)).toBe(true));
    expect(kept.length).toBe(n);
    expect(kept.every((x) => x === 7)).toBe(true);
    expect(same(keptEcho, keptSnapshot)).toBe(true);
  });

  it("through the main link (calls with a timeout), pooled results stay intact, kept ones too", async () => {
    // A timeout makes a call cancellable: it goes through the runner's main thread, and its
    // result comes back from the worker in the worker's pool of shared buffers.
    const n = (2 * MiB) / 8;
    const fill = t.big.fillScratch.with({ timeout: 60_000 });
    const kept = await fill(n, 3);
    const stored = await t.big.fillScratch.ref(n, 4); // a kept result: its copy is the store's, never given back
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      later.push(fill(n, 10 + i).then((r) => expect(r.every((x) => x === 10 + i)).toBe(true)));
      if (i % 6 === 5) await Promise.all(later.splice(0));
    }
    await Promise.all(later);
    expect(kept.every((x) => x === 3)).toBe(true);
    const s = await t.cluster.get(stored);
    expect(s.length).toBe(n);
    expect(s.every((x) => x === 4)).toBe(true);
    // Read on the runner too, after more pooled results went through its thread.
    for (let i = 0; i < 5; i++) await fill(n, 50 + i);
    expect(await t.big.describe(stored as never)).toEqual(["Float64Array", 4 * n]);
    stored.release();
  });

  it("a result changed by its function after it returned arrives as it was at return", async () => {
    for (let i = 0; i < 10; i++) {
      const x = pattern((b) => new Float64Array(b), 4 * MiB, i);
      const back = await t.big.echoThenScribble(x);
      expect(same(back, x)).toBe(true);
    }
  });

  it("put, get and a runner-to-runner fetch carry every kind, and gets kept stay intact", async () => {
    const values = everyKind(2 * MiB, 3);
    const kept: { got: ArrayBufferView; want: ArrayBufferView }[] = [];
    for (const v of values) {
      const ref = await t.cluster.put(v);
      const got = await t.cluster.get(ref);
      expect(same(got, v)).toBe(true);
      kept.push({ got, want: v });
      ref.release();
    }
    // Every runner holds a copy after a broadcast (runner-to-runner fetches): read it on both.
    const f = pattern((b) => new Float64Array(b), 8 * MiB, 4);
    let want = 0;
    for (let i = 0; i < f.length; i++) want += f[i]!;
    for (let round = 0; round < 3; round++) {
      const ref = await t.cluster.broadcast(f);
      const sums = await Promise.all(Array.from({ length: 4 }, () => t.big.describe(ref as never)));
      for (const s of sums) expect(s).toEqual(["Float64Array", want]);
      expect(same(await t.cluster.get(ref), f)).toBe(true);
      ref.release();
    }
    for (const { got, want: w } of kept) expect(same(got, w)).toBe(true);
  });

  it.runIf(native)("the big values above arrived in the driver's pooled memory", () => {
    const stats = blockPoolStats();
    expect(stats).toBeDefined();
    expect(stats!.fresh + stats!.reused).toBeGreaterThan(0);
  });
});
