import { describe, expect, it } from "vitest";
import { local, RemoteError, SerializationError } from "../src/index.ts";
import { SAMPLE_ZEROS, sample, zerosIn } from "./fixtures/zeros.ts";
import { fixture, rejectionOf } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type Math = typeof import("./fixtures/math.ts");
type Values = typeof import("./fixtures/values.ts");
type Zeros = typeof import("./fixtures/zeros.ts");
type Spmd = typeof import("./fixtures/spmd.ts");

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("values through a local cluster", () => {
  const t = useCluster<{ m: Math; v: Values }>({ runners: 2, threads: 1 }, { m: "math.ts", v: "values.ts" });

  it("echo returns every supported value type intact", async () => {
    const f32 = new Float32Array([1.5, -0, NaN, Infinity]);
    const values: Record<string, unknown> = {
      undefined: undefined,
      null: null,
      booleans: [true, false],
      numbers: [0, -1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 2 ** 70, 5e-324],
      strings: ["", "plain", "ü 😀 \u0000 \n", "x".repeat(100_000)],
      bigints: [0n, -5n, 2n ** 64n, -(10n ** 200n)],
      nested: { a: { b: { c: [1, { d: [undefined, null, "e"] }] } }, "key with space": 1 },
      map: new Map<unknown, unknown>([[{ k: 1 }, "object key"], [2n, [1]], ["s", new Map([[1, 2]])]]),
      set: new Set<unknown>([1, "1", 1n, { a: 1 }, new Set([2])]),
      date: new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 123)),
      invalidDate: new Date(NaN),
      regexp: /^a(?<g>b+)c$/giu,
      arrayBuffer: pattern(100, 1).buffer,
      dataView: new DataView(pattern(64, 2).buffer, 8, 40),
      uint8: pattern(50, 3),
      int8: new Int8Array([-128, 0, 127]),
      uint8Clamped: new Uint8ClampedArray([0, 255, 7]),
      int16: new Int16Array([-32768, 32767]),
      uint16: new Uint16Array([0, 65535]),
      int32: new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
      uint32: new Uint32Array([0, 2 ** 32 - 1]),
      float32: f32,
      float64: new Float64Array([Math.PI, -0, NaN, -Infinity]),
      bigInt64: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      bigUint64: new BigUint64Array([0n, 2n ** 64n - 1n]),
      subarray: new Int32Array([1, 2, 3, 4, 5]).subarray(1, 4),
      bigTyped: new Int16Array(40_000).map((_, i) => i - 20_000),
      buffer: Buffer.from("a Buffer"),
      bigBuffer: Buffer.from(pattern(100_000, 4)),
      mixed: [new Map([["d", new Date(0)]]), { f: new Float64Array([1, 2]) }, [new Set([3n])]],
    };
    const names = Object.keys(values);
    const results = await Promise.all(names.map((n) => t.m.echo(values[n])));
    results.forEach((r, i) => {
      expect({ [names[i]!]: r }).toStrictEqual({ [names[i]!]: values[names[i]!] });
    });
    expect(Buffer.isBuffer(results[names.indexOf("buffer")])).toBe(true);
    expect(Buffer.isBuffer(results[names.indexOf("bigBuffer")])).toBe(true);
  });

  it("arguments arrive on the runner as the same types", async () => {
    const cases: [unknown, { type: string; ctor?: string; isBuffer?: boolean; byteLength?: number }][] = [
      [Buffer.from("hi"), { type: "object", ctor: "Buffer", isBuffer: true, byteLength: 2 }],
      [Buffer.alloc(70_000), { type: "object", ctor: "Buffer", isBuffer: true, byteLength: 70_000 }],
      [new Uint8Array(3), { type: "object", ctor: "Uint8Array", isBuffer: false, byteLength: 3 }],
      [new Float64Array(5000), { type: "object", ctor: "Float64Array", byteLength: 40_000 }],
      [new BigUint64Array(2), { type: "object", ctor: "BigUint64Array", byteLength: 16 }],
      [new DataView(new ArrayBuffer(6)), { type: "object", ctor: "DataView", byteLength: 6 }],
      [new ArrayBuffer(30_000), { type: "object", ctor: "ArrayBuffer", byteLength: 30_000 }],
      [new Map(), { type: "object", ctor: "Map" }],
      [new Set(), { type: "object", ctor: "Set" }],
      [new Date(1), { type: "object", ctor: "Date" }],
      [/x/, { type: "object", ctor: "RegExp" }],
      [new TypeError("t"), { type: "object", ctor: "TypeError" }],
      [12n, { type: "bigint" }],
      [undefined, { type: "undefined" }],
    ];
    const got = await Promise.all(cases.map(([value]) => t.v.kind(value)));
    got.forEach((k, i) => expect(k).toMatchObject(cases[i]![1]));
  });

  it("cycles and shared references survive the trip", async () => {
    const node: Record<string, unknown> = { name: "n" };
    node.self = node;
    const shared = { s: 1 };
    const out = (await t.m.echo({ node, pair: [shared, shared] })) as { node: Record<string, unknown>; pair: unknown[] };
    expect(out.node.self).toBe(out.node);
    expect(out.pair[0]).toBe(out.pair[1]);
  });

  it("a 10 MB Float64Array goes out and comes back intact, and is read correctly on the runner", async () => {
    const n = (10 * 1024 * 1024) / 8;
    const big = new Float64Array(n).map((_, i) => i * 0.5 - 7);
    const back = (await t.m.echo(big)) as Float64Array;
    expect(back).toBeInstanceOf(Float64Array);
    expect(back.length).toBe(n);
    expect(sameBytes(back, big)).toBe(true);
    let local = 0;
    for (let i = 0; i < n; i++) local += big[i]!;
    expect(await t.v.sum(big)).toBe(local);
    const made = await t.v.floats(n, 0.25);
    expect(made).toBeInstanceOf(Float64Array);
    expect(made.length).toBe(n);
    expect(made[n - 1]).toBe((n - 1) * 0.25);
    expect(sameBytes(made, new Float64Array(n).map((_, i) => i * 0.25))).toBe(true);
  });

  it("an Error passed as a value comes back as a value with name, message, stack, code and cause", async () => {
    const err = Object.assign(new TypeError("bad", { cause: new RangeError("inner") }), { code: "E_BAD" });
    const out = (await t.m.echo(err)) as Error & { code?: unknown };
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe("bad");
    expect(out.stack).toBe(err.stack);
    expect(out.code).toBe("E_BAD");
    expect(out.cause).toBeInstanceOf(RangeError);
    expect((out.cause as Error).message).toBe("inner");
  });

  it("a function argument fails at the call site with SerializationError naming its path, and nothing is sent", async () => {
    const before = t.cluster.stats.calls;
    const err = await rejectionOf(t.m.echo({ onDone: () => 1 }));
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).message).toBe("args[0].onDone is a function");
    expect((err as SerializationError).path).toBe("args[0].onDone");
    const err2 = await rejectionOf(t.m.add(1, [0, { s: Symbol("x") }] as unknown as number));
    expect(err2).toBeInstanceOf(SerializationError);
    expect((err2 as Error).message).toBe("args[1][1].s is a symbol");
    expect(t.cluster.stats.calls).toBe(before);
    // The cluster is unaffected.
    expect(await t.m.add(1, 2)).toBe(3);
  });

  it("a result that cannot travel rejects with SerializationError naming `result...`", async () => {
    const e1 = await rejectionOf(t.v.returnsFunction());
    expect(e1).toBeInstanceOf(SerializationError);
    // The driver adds where it happened: "... (returnsFunction on runner host:port)".
    expect((e1 as Error).message).toMatch(/^result\.nested\.callback is a function\b/);
    expect((e1 as Error).message).toContain("returnsFunction");
    expect((e1 as SerializationError).path).toBe("result.nested.callback");
    const e2 = await rejectionOf(t.v.returnsInstance());
    expect(e2).toBeInstanceOf(SerializationError);
    expect((e2 as Error).message).toMatch(/^result\[1\] is an instance of class Point\b/);
    const e3 = await rejectionOf(t.v.returnsSymbolInMap());
    expect(e3).toBeInstanceOf(SerializationError);
    expect((e3 as Error).message).toMatch(/^result\.get\(0\) is a symbol\b/);
  });

  it("a thrown error whose cause cannot travel still arrives as RemoteError; so does a thrown non-error", async () => {
    const e = await rejectionOf(t.v.throwsWithUnserializableCause());
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).remoteName).toBe("RangeError");
    expect((e as RemoteError).message).toMatch(/outer problem/);
    expect((e as RemoteError).functionName).toBe("throwsWithUnserializableCause");
    const s = await rejectionOf(t.v.throwsString());
    expect(s).toBeInstanceOf(RemoteError);
    expect((s as RemoteError).message).toMatch(/plain string/);
  });

  it("many concurrent calls with arguments of mixed sizes all come back intact", async () => {
    // Warm up with tiny calls so the driver's window is wide and many calls share socket reads.
    await Promise.all(Array.from({ length: 2000 }, (_, i) => t.m.add(i, 1)));
    const sizes = [0, 7, 100, 1000, 5000, 20_000, 70_000, 200_000];
    const inputs = Array.from({ length: 1500 }, (_, i) => pattern(sizes[(i * 7) % sizes.length]!, i));
    const outs = await Promise.all(inputs.map((x) => t.m.echo(x)));
    const bad = outs.filter((o, i) => !(o instanceof Uint8Array) || !sameBytes(o, inputs[i]!)).length;
    expect(bad).toBe(0);
    const strings = Array.from({ length: 3000 }, (_, i) => `${i}:${"x".repeat((i * 37) % 3000)}`);
    expect(await Promise.all(strings.map((s) => t.m.echo(s)))).toEqual(strings);
  });

  it("calls whose frames reach the runner coalesced in big socket reads come back intact", async () => {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => t.m.add(i, 1)));
    const pid = t.cluster.runners[0]!.pid;
    const inputs = Array.from({ length: 3000 }, (_, i) => `${i}:${"y".repeat(500 + (i % 7) * 300)}`);
    // Pause the runner so the calls pile up in its socket, then let it read them all at once.
    process.kill(pid, "SIGSTOP");
    let results: Promise<unknown[]>;
    try {
      results = Promise.all(inputs.map((s) => t.m.echo(s)));
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(await results).toEqual(inputs);
  });
});

describe("remote errors with unusual names", () => {
  // Regression: for "constructor" the driver used to decode a String wrapper, so the
  // RemoteError was named "Error" and carried the driver's stack instead of the runner's.
  it("an error named \"constructor\" keeps its name and remote stack", async () => {
    await using cluster = await local({ runners: 1, threads: 1 });
    const v = await cluster.import<Values>(fixture("values.ts"));
    const err = await rejectionOf(v.throwsNamed("constructor"));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteName).toBe("constructor");
    expect((err as RemoteError).remoteStack).toMatch(/throwsNamed/);
  });

  // Regression, two parts: decoding an error named "toString" used to throw on the driver,
  // which dropped the runner link (failing every other call) and, since the call had
  // already left the in-flight table, left this caller hanging forever.
  it("an error named \"toString\" arrives as RemoteError; the runner and other calls are unaffected", async () => {
    await using cluster = await local({ runners: 1, threads: 2 });
    const v = await cluster.import<Values>(fixture("values.ts"));
    const m = await cluster.import<Math>(fixture("math.ts"));
    const other = m.sleep(200);
    other.catch(() => {});
    // The timeout only bounds the hang described above.
    const err = await rejectionOf(v.throwsNamed.with({ timeout: 3000 })("toString"));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteName).toBe("toString");
    expect(await other).toBe(200);
    expect(cluster.runners[0]!.alive).toBe(true);
  });
});

describe("-0 travels as -0 (structured-clone values), on every path a value takes", () => {
  // Two threads per runner: SPMD messages then go to the same thread, another thread and another process.
  const t = useCluster<{ z: Zeros; spmd: Spmd }>({ runners: 2, threads: 2 }, { z: "zeros.ts", spmd: "spmd.ts" });

  const isNegativeZero = (x: unknown): boolean => Object.is(x, -0);

  it("in a call's arguments, as the runner sees them, and in its result", async () => {
    expect(await t.z.zerosIn(sample())).toEqual(SAMPLE_ZEROS);
    expect(await t.z.zerosIn(-0)).toEqual([""]);
    expect(await t.z.zerosIn(0)).toEqual([]);
    expect(zerosIn(await t.z.sampleBack())).toEqual(SAMPLE_ZEROS);
    expect(isNegativeZero(await t.z.echo(-0))).toBe(true);
    expect(isNegativeZero(await t.z.echo(0))).toBe(false);
  });

  it("in an object put then read with get, and given to a call as a Ref", async () => {
    const ref = await t.cluster.put(sample());
    expect(zerosIn(await t.cluster.get(ref))).toEqual(SAMPLE_ZEROS);
    expect(await t.z.zerosIn(ref)).toEqual(SAMPLE_ZEROS);
    expect(isNegativeZero(await t.cluster.get(await t.cluster.put(-0)))).toBe(true);
    // An object a call made, kept on its runner and read from there.
    expect(zerosIn(await t.cluster.get(t.z.sampleBack.ref()))).toEqual(SAMPLE_ZEROS);
  });

  it("in channel messages: driver to runner, runner to driver, runner to runner", async () => {
    const ch = t.cluster.chan<unknown>(1);
    const [got] = await Promise.all([t.z.recvZeros(ch), ch.send(sample())]);
    expect(got).toEqual(SAMPLE_ZEROS);
    await t.z.sendSample(ch);
    const r = await ch.recv();
    expect(zerosIn(r.value)).toEqual(SAMPLE_ZEROS);
    const [, relayed] = await Promise.all([t.z.sendSample(ch), t.z.recvZeros(ch)]);
    expect(relayed).toEqual(SAMPLE_ZEROS);
  });

  it("in SPMD messages and bcast, to the same thread, another thread and another process", async () => {
    const placement = [0, 0, 1, 1, 0, 1, 0];
    const info = await t.cluster.spmd({ size: placement.length, placement }, t.spmd.rankInfo);
    expect(new Set(info.map((i) => `${i.pid}/${i.thread}`)).size).toBe(4);
    const got = await t.cluster.spmd({ size: placement.length, placement }, t.z.spmdZeros);
    expect(got).toEqual(placement.map((_, r) => ({ sent: r === 0 ? [] : SAMPLE_ZEROS, bcast: SAMPLE_ZEROS })));
  });
});
