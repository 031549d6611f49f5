import { describe, expect, it } from "vitest";
import { CancelledError, select, TimeoutError } from "../src/index.ts";
import { rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Pieces = typeof import("./fixtures/go-pieces.ts");

// Go's nil channels in select, `select {}`, and `len(ch)`, on the driver and on runners.

describe("select: nil channels and the empty select", () => {
  const t = useCluster<{ m: Pieces }>({ runners: 1, threads: 2 }, { m: "go-pieces.ts" });

  it("a nil case is never ready: a runner's merge loop turns off each drained input", async () => {
    const a = t.cluster.chan<number>(4);
    const b = t.cluster.chan<number>(4);
    const out = t.cluster.chan<number>(8);
    const merged = t.m.merge(a, b, out);
    for (const v of [1, 2, 3]) await a.send(v);
    await a.close();
    for (const v of [10, 20]) await b.send(v);
    await b.close();
    const got: number[] = [];
    for await (const v of out) got.push(v);
    expect(got.sort((x, y) => x - y)).toEqual([1, 2, 3, 10, 20]);
    expect(await merged).toBe(5);
  });

  it("indices name the caller's cases, nil ones counted", async () => {
    const ch = t.cluster.chan<string>(1);
    await ch.send("x");
    expect(await select([{ recv: null }, { send: undefined, value: 1 }, { recv: ch }])).toEqual({ index: 2, value: "x" });
    expect(await select([{ recv: null }, { recv: ch }], { default: true })).toEqual({ index: -1 });
  });

  it("only nil cases, or none: blocks until the timeout or the signal, and default runs at once", async () => {
    expect(await rejectionOf(select([], { timeout: 30 }))).toBeInstanceOf(TimeoutError);
    expect(await rejectionOf(select([{ recv: null }], { timeout: 30 }))).toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const blocked = select([], { signal: ac.signal });
    ac.abort();
    expect(await rejectionOf(blocked)).toBeInstanceOf(CancelledError);
    expect(await select([], { default: true })).toEqual({ index: -1 });
    expect(await t.m.nilSelect(30)).toBe("TimeoutError");
  });

  it("a malformed case is a TypeError at the call site", async () => {
    expect(await rejectionOf(select([{} as never]))).toBeInstanceOf(TypeError);
  });
});

describe("len(ch)", () => {
  const t = useCluster<{ m: Pieces }>({ runners: 1, threads: 1 }, { m: "go-pieces.ts" });

  it("counts buffered values on the driver and on a runner; unbuffered is always 0", async () => {
    const ch = t.cluster.chan<number>(5);
    expect(await ch.length).toBe(0);
    await ch.send(1);
    await ch.send(2);
    expect(await ch.length).toBe(2);
    expect(await t.m.lenOf(ch)).toEqual([2, 5]);
    await ch.recv();
    expect(await t.m.lenOf(ch)).toEqual([1, 5]);
    const u = t.cluster.chan<number>();
    const pending = u.send(7); // a blocked sender is not in the buffer
    expect(await u.length).toBe(0);
    expect(await t.m.lenOf(u)).toEqual([0, 0]);
    expect((await u.recv()).value).toBe(7);
    await pending;
    await ch.close();
    await ch.recv();
    await ch.recv();
    expect(await ch.length).toBe(0); // closed, drained and retired
  });
});
