import { beforeAll, describe, expect, it } from "vitest";
import { useCluster } from "./use-cluster.ts";

type K = typeof import("./fixtures/kept-values.ts");

const expectedBytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
const expectedDoubles = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, (_, i) => seed + i / 8);

// The single-call path (issue 19, session 28): a small read lands in a slab shared with the
// next small reads, a lane thread encodes a small result into a slab shared with the next
// results, and a thread's young generation starts at 8 MiB. Values kept from earlier
// calls must not change however many calls follow.
describe("single calls: small values through shared slabs", () => {
  const t = useCluster<{ k: K }>({ runners: 1, threads: 1 }, { k: "kept-values.ts" });
  beforeAll(async () => {
    // The first call brings the code over the main connection; lanes come up as the runner
    // announces them. Each awaited call is an event: no sleeping.
    while (t.cluster.runners[0]!.lanes.length < 1) await t.k.echo(0);
  });

  it("values kept from sequential calls keep their bytes after thousands more", async () => {
    const kept: [number, unknown][] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 4;
      if (kind === 0) kept.push([i, await t.k.bytes(1 + (i % 300), i)]);
      else if (kind === 1) kept.push([i, await t.k.doubles(1 + (i % 100), i)]);
      else if (kind === 2) kept.push([i, await t.k.echo(`value ${i} `.repeat(1 + (i % 40)))]);
      else kept.push([i, await t.k.echo([i, i + 1, i * 2])]);
    }
    for (const [i, v] of kept) {
      const kind = i % 4;
      if (kind === 0) expect(v).toEqual(expectedBytes(1 + (i % 300), i));
      else if (kind === 1) expect(v).toEqual(expectedDoubles(1 + (i % 100), i));
      else if (kind === 2) expect(v).toBe(`value ${i} `.repeat(1 + (i % 40)));
      else expect(v).toEqual([i, i + 1, i * 2]);
    }
  });

  it("values kept from a burst keep their bytes, and a changed one changes no other", async () => {
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => t.k.bytes(1 + (i % 200), i)));
    for (const r of results) r[0] = r[0]! ^ 0xff; // each is the caller's own
    results.forEach((r, i) => {
      const want = expectedBytes(1 + (i % 200), i);
      want[0] = want[0]! ^ 0xff;
      expect(r).toEqual(want);
    });
    const more = await Promise.all(Array.from({ length: 2000 }, (_, i) => t.k.doubles(1 + (i % 50), i)));
    more.forEach((d, i) => expect(d).toEqual(expectedDoubles(1 + (i % 50), i)));
    results.forEach((r, i) => expect(r[1]).toBe(expectedBytes(1 + (i % 200), i)[1]));
  });

  it("a runner thread's young generation starts at 8 MiB", async () => {
    expect(t.cluster.runners[0]!.lanes.length).toBeGreaterThan(0);
    expect(await t.k.newSpaceBytes()).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });
});
