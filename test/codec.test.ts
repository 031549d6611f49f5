import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pack } from "msgpackr";
import { ObjectRef } from "../src/protocol/object-ref.ts";
import { ATTACH_MIN, decodeValue, decodeValueIn, encodeTrusted, encodeValue, type Encoded } from "../src/protocol/codec.ts";
import {
  CancelledError, ImportError, RemoteError, RunnerLostError, SerializationError, StrandError, TimeoutError,
} from "../src/index.ts";

// What the receiving side gets: the body and every attachment in memory of its own
// (as after a trip over the wire), never aliasing the sender's values.
function overTheWire(enc: Encoded): Encoded {
  return { body: enc.body.slice(), attachments: enc.attachments.map((a) => a.slice()) };
}

function roundTrip<T>(value: T): T {
  const enc = overTheWire(encodeValue(value, "args"));
  return decodeValue(enc.body, enc.attachments) as T;
}

function serializationError(value: unknown, path = "args"): SerializationError {
  try {
    encodeValue(value, path);
  } catch (err) {
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).code).toBe("ERR_STRAND_SERIALIZATION");
    return err as SerializationError;
  }
  throw new Error("encodeValue accepted a value it must reject");
}

// ---- arbitraries ----------------------------------------------------------------

// -0 included: it must arrive as -0 wherever it sits (its own tests below).
const double = fc.double();
// Well-formed Unicode only: "binary" covers every code point but never a lone surrogate.
const text = fc.string({ unit: "binary", maxLength: 40 });
// An own "__proto__" key is covered by its own test below.
const key = fc.string({ unit: "binary", maxLength: 12 }).filter((k) => k !== "__proto__");
const bigint = fc.bigInt({ min: -(1n << 600n), max: 1n << 600n });

const primitive = fc.oneof(
  fc.boolean(), fc.integer(), fc.maxSafeInteger(), double, bigint, text, fc.constant(undefined), fc.constant(null),
);

const typedArrayKinds = [
  Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
const binaryKinds = ["Buffer", "ArrayBuffer", "DataView", ...typedArrayKinds.map((k) => k.name)] as const;
type BinaryKind = (typeof binaryKinds)[number];

/** Bytes with a recognisable pattern (cheap to make in any size). */
function patterned(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/**
 * A binary value of `kind` whose bytes are `bytes` (cut to whole elements), placed at a
 * non-zero offset inside a bigger buffer so that only the view's own bytes may travel.
 */
function makeBinary(kind: BinaryKind, bytes: Uint8Array, padElements: number): ArrayBuffer | ArrayBufferView {
  if (kind === "ArrayBuffer") return bytes.slice().buffer;
  const size = kind === "Buffer" || kind === "DataView" ? 1 : typedArrayKinds.find((k) => k.name === kind)!.BYTES_PER_ELEMENT;
  const n = Math.floor(bytes.byteLength / size);
  const offset = padElements * size;
  const backing = new Uint8Array(offset + n * size + 16).fill(0xee);
  backing.set(bytes.subarray(0, n * size), offset);
  if (kind === "Buffer") return Buffer.from(backing.buffer, offset, n);
  if (kind === "DataView") return new DataView(backing.buffer, offset, n);
  const Ctor = typedArrayKinds.find((k) => k.name === kind)! as unknown as Float64ArrayConstructor;
  return new Ctor(backing.buffer, offset, n);
}

const smallBytes = fc.uint8Array({ maxLength: 80 });
const largeBytes = fc.tuple(fc.integer({ min: ATTACH_MIN - 24, max: ATTACH_MIN + 5000 }), fc.nat(255)).map(([n, seed]) => patterned(n, seed));
const binary = fc
  .tuple(fc.constantFrom(...binaryKinds), fc.oneof({ weight: 5, arbitrary: smallBytes }, { weight: 1, arbitrary: largeBytes }), fc.nat(3))
  .map(([kind, bytes, pad]) => makeBinary(kind, bytes, pad));

const date = fc.date({ noInvalidDate: false });
const regexp = fc
  .tuple(fc.constantFrom("a+b", "^x$", "[0-9]{2,}", "(?<n>y)|z", "", "\\/path\\/", "é+"), fc.subarray(["d", "g", "i", "m", "s", "u", "y"]))
  .map(([source, flags]) => new RegExp(source, flags.join("")));

const { value: anyValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    primitive, binary, date, regexp, tie("array"), tie("object"), tie("map"), tie("set"),
  ),
  array: fc.array(tie("value"), { maxLength: 5 }),
  object: fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: true }),
  map: fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 4 }).map((entries) => new Map(entries)),
  set: fc.array(tie("value"), { maxLength: 4 }).map((items) => new Set(items)),
}));

// ---- round trips ----------------------------------------------------------------

describe("codec round trips", () => {
  it("primitives: booleans, numbers (NaN, ±Infinity), strings, undefined, null", () => {
    fc.assert(fc.property(primitive, (v) => {
      expect(roundTrip(v)).toStrictEqual(v);
    }));
    for (const v of [NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -(2 ** 31), 0.1, "", "😀 ü\u0000"]) {
      expect(roundTrip(v)).toStrictEqual(v);
    }
  });

  it("-0 arrives as -0 wherever it sits, as structured clone has it; 0 stays 0", () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(Object.is(roundTrip(0), 0)).toBe(true);
    const inside = new Map<unknown, unknown>([["v", -0], [{ k: -0 }, [0, -0]]]);
    const value = {
      z: -0, plus: 0, "key with space": -0, 0: -0,
      arr: [-0, 0, 1, -0, [[-0]]],
      nested: { a: { b: { c: -0, d: [{ e: -0 }] } } },
      map: inside,
      set: new Set<unknown>([{ s: -0 }, [-0]]),
      f64: new Float64Array([-0, 0]),
    };
    const out = roundTrip(value);
    // toStrictEqual tells -0 from 0 (Object.is), so this checks every place at once.
    expect(out).toStrictEqual(structuredClone(value));
    expect(Object.is(out.z, -0) && Object.is(out.plus, 0) && Object.is(out[0], -0)).toBe(true);
    expect(Object.is([...out.map.values()][0], -0)).toBe(true);
    // Errors compared on their own: a decoded error's cause is an enumerable property, unlike a cloned one's.
    const [err, errDeep] = roundTrip([new RangeError("with a -0 cause", { cause: -0 }), new Error("deep", { cause: { n: [-0] } })]);
    expect(Object.is(err.cause, -0)).toBe(true);
    expect(errDeep.cause).toStrictEqual({ n: [-0] });
  });

  it("-0 as a Map key or Set item is +0 already before it travels (Map and Set store +0), and stays findable", () => {
    const m = new Map([[-0, "zero"]]);
    const s = new Set([-0]);
    const [outM, outS] = roundTrip([m, s]);
    expect(Object.is([...outM.keys()][0], 0)).toBe(true);
    expect(outM.get(-0)).toBe("zero");
    expect(Object.is([...outS][0], 0)).toBe(true);
    expect([outM, outS]).toStrictEqual(structuredClone([m, s]));
  });

  it("-0 beside cycles and shared references: each place restored, the shape kept", () => {
    const shared = { z: -0 };
    const root: Record<string, unknown> = { a: shared, b: shared, list: [-0] };
    root.self = root;
    (root.list as unknown[]).push(root);
    const out = roundTrip(root);
    expect(out.self).toBe(out);
    expect(out.a).toBe(out.b);
    expect(Object.is((out.a as { z: number }).z, -0)).toBe(true);
    expect((out.list as unknown[])[1]).toBe(out);
    expect(Object.is((out.list as unknown[])[0], -0)).toBe(true);
  });

  it("a value without -0 is encoded as before: no -0 paths on the wire", () => {
    const plain = { a: [0, 1.5], m: new Map([["k", 0]]) };
    expect(encodeValue(plain, "v").body).toStrictEqual(encodeTrusted(plain).body);
  });

  it("a flat object of primitives (the fast path, no walk and no structured clone) is the same bytes as through the walk", () => {
    fc.assert(fc.property(fc.dictionary(key, primitive.filter((x) => !Object.is(x, -0))).map((d) => ({ ...d })), (v) => {
      expect(encodeValue(v, "v").body).toStrictEqual(encodeTrusted(v).body);
      expect(roundTrip(v)).toStrictEqual(v);
    }));
    // What the walk would have caught on such an object still is: -0 kept, an own "__proto__" not altered.
    const z = roundTrip({ x: -0, y: 0 });
    expect(Object.is(z.x, -0) && Object.is(z.y, 0)).toBe(true);
    const own = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, unknown>;
    expect(() => encodeValue(own, "args")).toThrow(SerializationError);
    // A null-prototype object takes the walk, as before, and arrives as a plain object.
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect({ ...roundTrip(bare) }).toStrictEqual({ a: 1 });
  });

  // A graph call's arguments (`f.ref(n, seed, [ref, ref])`) and a plain call given a few
  // results skip the walk and structured clone (validate.ts isShallow): the same bytes, the
  // same Refs found, and what the walk is for (-0, shared objects, "__proto__") still kept.
  /** Refs in a value, each time one appears. */
  const refsIn = (v: unknown): number =>
    v instanceof ObjectRef ? 1 : typeof v === "object" && v !== null ? Object.values(v).reduce((n: number, x) => n + refsIn(x), 0) : 0;

  it("shallow arguments with Refs and records (the fast path) are the same bytes and Refs as through the walk", () => {
    const refs = Array.from({ length: 6 }, (_, i) => new ObjectRef(`o.${i}`));
    const values = new Map(refs.map((r, i) => [r.id, { v: i }]));
    const leaf = fc.oneof(primitive.filter((x) => !Object.is(x, -0)), fc.constantFrom(...refs));
    const inner = fc.oneof(fc.array(leaf, { maxLength: 4 }), fc.dictionary(key, leaf, { maxKeys: 4 }).map((d) => ({ ...d })));
    const args = fc.array(fc.oneof(leaf, inner, fc.array(fc.oneof(leaf, inner), { maxLength: 3 })), { maxLength: 5 });
    fc.assert(fc.property(args, (v) => {
      const fast = encodeValue(v, "args");
      const walked = encodeTrusted(v);
      expect(fast.refs ?? []).toStrictEqual(walked.refs ?? []);
      // A Ref given twice is a back-reference in the walk's encoding: the values read the same.
      const withValues = (e: Encoded): unknown => decodeValue(e.body.slice(), e.attachments, values);
      expect(withValues(fast)).toStrictEqual(withValues(walked));
      if ((walked.refs ?? []).length === refsIn(v)) expect(fast.body).toStrictEqual(walked.body);
    }));
    const shared = { x: 1 };
    const out = roundTrip([1, [shared, shared]] as [number, { x: number }[]]);
    expect(out[1][0]).toBe(out[1][1]); // a shared object is not shallow: the walk keeps it shared
    expect(Object.is(roundTrip([1, [{ x: -0 }]] as [number, { x: number }[]])[1][0]!.x, -0)).toBe(true);
    expect(() => encodeValue([1, [JSON.parse('{"__proto__": 1}') as object]], "args")).toThrow(SerializationError);
    const deep = roundTrip([[[{ a: [1] }]]]);
    expect(deep).toStrictEqual([[[{ a: [1] }]]]);
  });

  it("-0 paths that lead anywhere but to a decoded 0 fail to decode and change nothing", () => {
    // The -0 extension (fixext 1, type 0x25), then [value, paths] in plain msgpack.
    const forged = (value: unknown, paths: unknown): Uint8Array => Buffer.concat([Buffer.from([0xd4, 0x25, 0x00]), pack([value, paths])]);
    expect(Object.is(decodeValue(forged(0, [[]])), -0)).toBe(true); // the well-formed form, for contrast
    for (const [value, paths] of [
      [[0], [["__proto__", "polluted"]]], // through a prototype
      [[0], [["constructor", "prototype", "polluted"]]],
      [[5], [[0]]], // a place that does not hold 0
      [["x"], [[]]],
      [[0], [[3]]], // a place that does not exist
      [[0], "not a list"],
      [new Set([0]), [[[2, 0]]]], // a Set item is never -0
    ] as const) {
      expect(() => decodeValue(forged(value, paths)), JSON.stringify(paths)).toThrow(/malformed -0 path/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("bigints of any size keep sign and value", () => {
    fc.assert(fc.property(bigint, (b) => {
      expect(roundTrip(b)).toBe(b);
    }));
    for (const b of [0n, -1n, 1n << 63n, (1n << 64n) - 1n, -(1n << 63n) - 1n, 10n ** 100n, -(10n ** 300n)]) {
      expect(roundTrip(b)).toBe(b);
    }
  });

  it("nested arrays, plain objects, Maps, Sets, Dates, RegExps and binary values", () => {
    fc.assert(fc.property(anyValue, (v) => {
      expect(roundTrip(v)).toStrictEqual(v);
    }));
  });

  it("objects keep undefined-valued keys, unusual keys and key order", () => {
    const v = { a: undefined, "": 1, "with space": 2, "0": 3, "ü": 4, constructor: 5, toString: "x" };
    const out = roundTrip(v);
    expect(out).toStrictEqual(v);
    expect(Object.keys(out)).toEqual(Object.keys(v));
  });

  it("a null-prototype object arrives as a plain object with the same entries", () => {
    const v = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [2] });
    const out = roundTrip(v);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect({ ...out }).toStrictEqual({ a: 1, b: [2] });
  });

  // Regression: msgpackr silently renamed an own "__proto__" key to "__proto_". Keeping the
  // key or rejecting the value with SerializationError are both fine; altering it is not.
  it("an own \"__proto__\" key survives, or the value is rejected", () => {
    const v = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as Record<string, unknown>;
    let out: Record<string, unknown>;
    try {
      out = roundTrip(v);
    } catch (err) {
      expect(err).toBeInstanceOf(SerializationError);
      expect((err as SerializationError).path).toMatch(/^args(\.__proto__|\["__proto__"\])$/);
      return;
    }
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype); // never prototype pollution
    expect(Object.keys(out)).toEqual(["__proto__", "a"]);
  });

  it("Map and Set keep insertion order, object keys and mixed key types", () => {
    const k = { id: 1 };
    const m = new Map<unknown, unknown>([[k, "obj"], [1, "num"], ["1", "str"], [1n, "big"], [null, undefined], [new Date(0), [1]]]);
    const out = roundTrip(m);
    expect(out).toBeInstanceOf(Map);
    expect(out).toStrictEqual(m);
    expect([...out.values()]).toEqual([...m.values()]);
    const s = new Set<unknown>([3, 1, "1", 2n, { a: 1 }, [0]]);
    expect([...roundTrip(s)]).toStrictEqual([...s]);
  });

  it("Dates (including invalid ones) and RegExps (source, flags)", () => {
    fc.assert(fc.property(date, regexp, (d, r) => {
      const [d2, r2] = roundTrip([d, r]);
      expect(d2).toBeInstanceOf(Date);
      expect(Object.is(d2.getTime(), d.getTime())).toBe(true);
      expect(r2).toBeInstanceOf(RegExp);
      expect(r2.source).toBe(r.source);
      expect(r2.flags).toBe(r.flags);
    }));
  });

  it("every TypedArray kind, small and attachment-sized, from any offset of a larger buffer", () => {
    const kind = fc.constantFrom(...typedArrayKinds.map((k) => k.name) as BinaryKind[]);
    fc.assert(fc.property(kind, fc.oneof(smallBytes, largeBytes), fc.nat(5), (k, bytes, pad) => {
      const v = makeBinary(k, bytes, pad) as ArrayBufferView;
      const out = roundTrip(v);
      expect(out.constructor).toBe(v.constructor);
      expect(out.byteLength).toBe(v.byteLength);
      expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength))).toBe(true);
    }), { numRuns: 200 });
  });

  it("fast-check's own typed arrays (NaN, ±0, extreme values) survive element for element", () => {
    const arrays = fc.oneof(
      fc.int8Array(), fc.uint8Array(), fc.uint8ClampedArray(), fc.int16Array(), fc.uint16Array(), fc.int32Array(), fc.uint32Array(),
      fc.float32Array(), fc.float64Array(), fc.bigInt64Array(), fc.bigUint64Array(),
    );
    fc.assert(fc.property(arrays, (a) => {
      expect(roundTrip(a)).toStrictEqual(a);
    }));
  });

  it("ArrayBuffer and DataView (only the viewed range travels)", () => {
    fc.assert(fc.property(fc.oneof(smallBytes, largeBytes), fc.nat(7), (bytes, pad) => {
      const ab = makeBinary("ArrayBuffer", bytes, 0) as ArrayBuffer;
      const outAb = roundTrip(ab);
      expect(outAb).toBeInstanceOf(ArrayBuffer);
      expect(Buffer.from(outAb).equals(Buffer.from(bytes))).toBe(true);
      const dv = makeBinary("DataView", bytes, pad) as DataView;
      const outDv = roundTrip(dv);
      expect(outDv).toBeInstanceOf(DataView);
      expect(outDv.byteLength).toBe(bytes.byteLength);
      expect(Buffer.from(outDv.buffer, outDv.byteOffset, outDv.byteLength).equals(Buffer.from(bytes))).toBe(true);
    }));
  });

  it("a Buffer stays a Buffer (pooled small ones and attachment-sized ones)", () => {
    for (const b of [Buffer.from("hi"), Buffer.alloc(0), Buffer.from(patterned(ATTACH_MIN * 2, 3)), Buffer.from(patterned(100, 1)).subarray(7, 60)]) {
      const out = roundTrip({ b }).b;
      expect(Buffer.isBuffer(out)).toBe(true);
      expect(out.equals(b)).toBe(true);
    }
  });

  it("values whose bytes sit in shared memory (a runner's big frames and stored objects) decode intact", () => {
    const value = { s: "ü".repeat(50_000), words: Array.from({ length: 2000 }, (_, i) => `w${i}`), f: new Float64Array(4096).fill(2.5) };
    const enc = encodeValue(value, "v");
    const share = (b: Uint8Array): Uint8Array => {
      const s = new Uint8Array(new SharedArrayBuffer(b.byteLength));
      s.set(b);
      return s;
    };
    for (let i = 0; i < 20; i++) {
      const out = decodeValue(share(enc.body), enc.attachments.map(share)) as typeof value;
      expect(out.s).toBe(value.s);
      expect(out.words).toEqual(value.words);
      expect(out.f).toEqual(value.f);
    }
  });

  it("cycles and shared references keep their shape", () => {
    const obj: Record<string, unknown> = { name: "root" };
    obj.self = obj;
    const out = roundTrip(obj);
    expect(out.self).toBe(out);

    const arr: unknown[] = [1];
    arr.push(arr);
    const outArr = roundTrip(arr);
    expect(outArr[1]).toBe(outArr);

    const m = new Map<string, unknown>();
    m.set("me", m);
    const outM = roundTrip(m);
    expect(outM.get("me")).toBe(outM);

    const s = new Set<unknown>();
    s.add(s);
    const outS = roundTrip(s);
    expect([...outS][0]).toBe(outS);

    const shared = { x: 1 };
    const [a, b] = roundTrip([shared, shared]);
    expect(a).toBe(b);

    const parent: { children: { parent: unknown }[] } = { children: [] };
    parent.children.push({ parent }, { parent });
    const outP = roundTrip(parent);
    expect(outP.children[0]!.parent).toBe(outP);
    expect(outP.children[1]!.parent).toBe(outP);

    const err = new Error("loop") as Error & { cause: unknown };
    err.cause = err;
    const outErr = roundTrip(err);
    expect(outErr.cause).toBe(outErr);

    const holder: Record<string, unknown> = {};
    holder.err = new Error("held", { cause: holder });
    const outH = roundTrip(holder);
    expect((outH.err as Error).cause).toBe(outH);
  });
});

// ---- errors ---------------------------------------------------------------------

const builtinErrors = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError] as const;
const builtinByName = new Map<string, ErrorConstructor>(builtinErrors.map((E) => [E.name, E]));

type ErrorSpec = {
  ctor: (typeof builtinErrors)[number];
  name: string | null;
  message: string;
  code: string | number | null;
  stack: string | null;
  cause: unknown;
  hasCause: boolean;
};

const errorSpec: fc.Arbitrary<ErrorSpec> = fc.record({
  ctor: fc.constantFrom(...builtinErrors),
  // Names that are Object.prototype members ("toString", "constructor"...) have their own test below.
  name: fc.option(fc.oneof(fc.constantFrom(...builtinErrors.map((E) => E.name)), fc.string({ maxLength: 10 }).filter((n) => !(n in Object.prototype)))),
  message: text,
  code: fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.integer())),
  stack: fc.option(fc.string({ maxLength: 60 })),
  cause: fc.oneof(primitive, fc.dictionary(key, primitive, { maxKeys: 3, noNullPrototype: true })),
  hasCause: fc.boolean(),
});

function makeError(spec: ErrorSpec, cause?: Error): Error {
  const hasCause = cause !== undefined || spec.hasCause;
  const e = new spec.ctor(spec.message, hasCause ? { cause: cause ?? spec.cause } : undefined) as Error & { code?: unknown };
  if (spec.name !== null) e.name = spec.name;
  if (spec.code !== null) e.code = spec.code;
  if (spec.stack !== null) e.stack = spec.stack;
  return e;
}

function expectSameError(out: unknown, e: Error): void {
  expect(out).toBeInstanceOf(Error);
  const o = out as Error & { code?: unknown };
  // The class follows the name: a built-in name gets its built-in class, any other name Error.
  expect(Object.getPrototypeOf(o)).toBe((builtinByName.get(e.name) ?? Error).prototype);
  expect(o.name).toBe(e.name);
  expect(o.message).toBe(e.message);
  expect(o.stack).toBe(e.stack);
  expect(o.code).toBe((e as Error & { code?: unknown }).code);
  if (e.cause instanceof Error) expectSameError(o.cause, e.cause);
  else expect(o.cause).toStrictEqual(e.cause);
}

describe("codec: errors", () => {
  it("keep class, name, message, stack, code and cause (chains too)", () => {
    fc.assert(fc.property(fc.array(errorSpec, { minLength: 1, maxLength: 3 }), (specs) => {
      let e: Error | undefined;
      for (const spec of specs) e = makeError(spec, e);
      expectSameError(roundTrip(e!), e!);
      expectSameError(roundTrip({ nested: [e] }).nested[0], e!);
    }));
  });

  // Regression: the error decoder looked the name up on a plain object, so "toString" found
  // an Object.prototype method (decoding threw "Ctor is not a constructor") and
  // "constructor" found Object (decoding gave a String wrapper, not an Error).
  it("errors named like Object.prototype members decode as errors with that name", () => {
    for (const name of ["toString", "constructor", "hasOwnProperty", "valueOf", "__proto__"]) {
      const e = new Error(`named ${name}`);
      e.name = name;
      const out = roundTrip(e);
      expect(out).toBeInstanceOf(Error);
      expect(out.name).toBe(name);
      expect(out.message).toBe(`named ${name}`);
      expect(out.stack).toBe(e.stack);
    }
  });

  it("a subclass keeps its name, message, stack and own code", () => {
    class HttpError extends Error {
      override name = "HttpError";
      code = "E_HTTP";
    }
    const e = new HttpError("404", { cause: new RangeError("inner") });
    const out = roundTrip(e) as Error & { code?: unknown };
    expect(out.name).toBe("HttpError");
    expect(out.message).toBe("404");
    expect(out.stack).toBe(e.stack);
    expect(out.code).toBe("E_HTTP");
    expect(out.cause).toBeInstanceOf(RangeError);
    expect((out.cause as Error).message).toBe("inner");
  });

  it("Strand errors come back as their own class with their fields", () => {
    const remote = new RemoteError({ message: "m", remoteName: "TypeError", remoteStack: "stack here", remoteCode: "E1", functionName: "f", runner: "h:1" });
    const r = roundTrip(remote);
    expect(r).toBeInstanceOf(RemoteError);
    expect(r).toBeInstanceOf(StrandError);
    expect(r.message).toBe(remote.message);
    expect([r.remoteName, r.remoteStack, r.remoteCode, r.functionName, r.runner]).toEqual(["TypeError", "stack here", "E1", "f", "h:1"]);

    const lost = roundTrip(new RunnerLostError("h:2", "gone"));
    expect(lost).toBeInstanceOf(RunnerLostError);
    expect(lost.runner).toBe("h:2");
    expect(lost.message).toBe("runner h:2 lost: gone");
    const gaveUp = roundTrip(new RunnerLostError("h:2", "gone", 4));
    expect(gaveUp.attempts).toBe(4);
    expect(gaveUp.message).toBe("runner h:2 lost: gone (after 4 attempts)");

    const ser = roundTrip(new SerializationError("args[0].f", "is a function"));
    expect(ser).toBeInstanceOf(SerializationError);
    expect(ser.path).toBe("args[0].f");
    expect(ser.message).toBe("args[0].f is a function");

    const to = roundTrip(new TimeoutError("spin", 300));
    expect(to).toBeInstanceOf(TimeoutError);
    expect(to.timeoutMs).toBe(300);
    expect(to.message).toBe("spin timed out after 300 ms");

    for (const e of [new CancelledError("stop"), new ImportError("no module")]) {
      const out = roundTrip(e);
      expect(out.constructor).toBe(e.constructor);
      expect(out.code).toBe(e.code);
      expect(out.message).toBe(e.message);
    }
  });
});

// ---- attachments ----------------------------------------------------------------

describe("codec: attachments", () => {
  it("binary values of at least ATTACH_MIN bytes travel as attachments, not in the body", () => {
    const big = patterned(ATTACH_MIN, 1);
    const enc = encodeValue({ big, n: 1 }, "args");
    expect(enc.attachments).toHaveLength(1);
    expect(Buffer.from(enc.attachments[0]!).equals(Buffer.from(big))).toBe(true);
    expect(enc.body.byteLength).toBeLessThan(64);

    const small = patterned(ATTACH_MIN - 1, 2);
    const enc2 = encodeValue({ small }, "args");
    expect(enc2.attachments).toHaveLength(0);
    expect(enc2.body.byteLength).toBeGreaterThanOrEqual(ATTACH_MIN - 1);
  });

  it("every large value gets its own attachment, wherever it sits", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...binaryKinds), largeBytes.filter((b) => b.byteLength >= ATTACH_MIN + 8)), { minLength: 1, maxLength: 4 }), (items) => {
      const values = items.map(([kind, bytes]) => makeBinary(kind, bytes, 1));
      const value = { list: values, map: new Map([["first", values[0]]]) };
      const enc = encodeValue([value], "args");
      expect(enc.attachments.length).toBeGreaterThanOrEqual(values.length);
      expect(enc.body.byteLength).toBeLessThan(ATTACH_MIN);
      const wire = overTheWire(enc);
      const [out] = decodeValue(wire.body, wire.attachments) as [typeof value];
      expect(out).toStrictEqual(value);
    }), { numRuns: 12 });
  });

  it("a Float64Array attachment decodes as a view of the received bytes when aligned, as a copy otherwise", () => {
    const f = new Float64Array(ATTACH_MIN / 8 + 3).map((_, i) => i * 1.5);
    const enc = encodeValue(f, "args");
    expect(enc.attachments).toHaveLength(1);
    const att = enc.attachments[0]!;

    const aligned = new Uint8Array(att.byteLength + 16);
    aligned.set(att, 16);
    const view = decodeValue(enc.body, [aligned.subarray(16)]) as Float64Array;
    expect(view).toBeInstanceOf(Float64Array);
    expect(view.buffer).toBe(aligned.buffer); // no copy
    expect(view.byteOffset).toBe(16);
    expect(view).toStrictEqual(f);

    const misaligned = new Uint8Array(att.byteLength + 4);
    misaligned.set(att, 4);
    const copy = decodeValue(enc.body, [misaligned.subarray(4)]) as Float64Array;
    expect(copy).toBeInstanceOf(Float64Array);
    expect(copy.byteOffset % 8).toBe(0);
    expect(copy).toStrictEqual(f);
  });

  it("a body that names a missing attachment fails to decode instead of inventing data", () => {
    const enc = encodeValue({ big: patterned(ATTACH_MIN, 9) }, "args");
    expect(() => decodeValue(enc.body, [])).toThrow(/attachment/);
  });

  it("a rejected value leaves no stale attachments behind for the next encode", () => {
    expect(() => encodeValue([patterned(ATTACH_MIN, 1), () => 1], "args")).toThrow(SerializationError);
    const enc = encodeValue([patterned(ATTACH_MIN, 2)], "args");
    expect(enc.attachments).toHaveLength(1);
    expect(enc.attachments[0]![0]).toBe(2);
  });
});

// ---- rejected values ------------------------------------------------------------

class Point {
  constructor(readonly x: number) {}
  norm(): number {
    return Math.abs(this.x);
  }
}

describe("codec: values that cannot travel fail with SerializationError naming the path", () => {
  it("functions", () => {
    const e = serializationError([1, { onDone: () => 1 }]);
    expect(e.message).toBe("args[1].onDone is a function");
    expect(e.path).toBe("args[1].onDone");
    expect(serializationError(() => 1, "result").message).toBe("result is a function");
  });

  it("symbols", () => {
    expect(serializationError([Symbol("s")]).message).toBe("args[0] is a symbol");
    expect(serializationError([{ deep: { s: Symbol.iterator } }]).message).toBe("args[0].deep.s is a symbol");
  });

  it("class instances with methods, Promises, WeakMaps, SharedArrayBuffers", () => {
    expect(serializationError([new Point(1)]).message).toMatch(/^args\[0\] is an instance of class Point\b/);
    expect(serializationError([{ p: Promise.resolve(1) }]).message).toMatch(/^args\[0\]\.p is a Promise\b/);
    expect(serializationError([new WeakMap()]).message).toMatch(/^args\[0\] is an instance of class WeakMap\b/);
    expect(serializationError([new SharedArrayBuffer(8)]).message).toMatch(/^args\[0\] is a SharedArrayBuffer\b/);
  });

  it("values inside a Map (keys and values) and a Set", () => {
    const m = new Map<unknown, unknown>([["ok", 1], ["bad", () => 2]]);
    expect(serializationError([{ m }]).message).toBe("args[0].m.get(1) is a function");
    const mk = new Map<unknown, unknown>([[Symbol("k"), 1]]);
    expect(serializationError([mk]).message).toBe("args[0].<key 0> is a symbol");
    const s = new Set<unknown>([1, 2, new Point(3)]);
    expect(serializationError([{ s }]).message).toMatch(/^args\[0\]\.s\.<item 2> is an instance of class Point\b/);
    const nested = new Map([["outer", new Set([Promise.resolve()])]]);
    expect(serializationError([nested]).message).toMatch(/^args\[0\]\.get\(0\)\.<item 0> is a Promise\b/);
  });

  it("an error whose cause cannot travel, and keys that are not identifiers", () => {
    expect(serializationError([new Error("x", { cause: () => 1 })]).message).toBe("args[0].cause is a function");
    expect(serializationError([{ "a-b": [0, { "": Symbol("x") }] }]).message).toBe('args[0]["a-b"][1][""] is a symbol');
  });

  // Builds a value with `leaf` at the end of `steps`, plus innocent siblings at every level.
  type Step = { index: number } | { key: string };
  const identifier = fc.stringMatching(/^[A-Za-z_$][\w$]{0,8}$/);
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.nat(3).map((index) => ({ index })),
    fc.oneof(identifier, key).map((k) => ({ key: k })),
  );
  const leaves = [
    { make: (): unknown => () => 1, problem: /^is a function$/ },
    { make: (): unknown => Symbol("leaf"), problem: /^is a symbol$/ },
    { make: (): unknown => new Point(1), problem: /^is an instance of class Point\b/ },
    { make: (): unknown => Promise.resolve(), problem: /^is a Promise\b/ },
  ];

  it("the path is exact however deep the bad value sits", () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 6 }), fc.constantFrom(...leaves), (steps, leaf) => {
      let value = leaf.make();
      for (const s of [...steps].reverse()) {
        if ("index" in s) {
          const arr: unknown[] = Array.from({ length: s.index + 2 }, (_, i) => i);
          arr[s.index] = value;
          value = arr;
        } else {
          value = s.key === "before" ? { before: value } : { before: 1, [s.key]: value };
        }
      }
      let expected = "args[0]";
      for (const s of steps) {
        if ("index" in s) expected += `[${s.index}]`;
        else expected += /^[A-Za-z_$][\w$]*$/.test(s.key) ? `.${s.key}` : `[${JSON.stringify(s.key)}]`;
      }
      const err = serializationError([value]);
      expect(err.path).toBe(expected);
      expect(err.message.startsWith(`${expected} `)).toBe(true);
      expect(err.message.slice(expected.length + 1)).toMatch(leaf.problem);
    }));
  });
});

describe("typed array subclasses", () => {
  it("travel as their base kind, as structured clone does", () => {
    class Vec extends Float64Array {
      norm(): number {
        return Math.hypot(...this);
      }
    }
    for (const n of [3, ATTACH_MIN]) {
      const v = new Vec(n).fill(1.5);
      const wire = overTheWire(encodeValue(v, "v"));
      const out = decodeValue(wire.body, wire.attachments);
      expect(out).toBeInstanceOf(Float64Array);
      expect(out).not.toBeInstanceOf(Vec);
      expect(Array.from(out as Float64Array)).toEqual(Array.from(v));
    }
  });
});

describe("values read in place (decodeValueIn)", () => {
  // One-byte bodies and msgpackr's three-byte undefined are read without msgpackr: each must
  // come back as msgpackr reads it (or fail as it fails), among other bodies in one buffer.
  const outcome = (read: () => unknown): unknown => {
    try {
      return { value: read() };
    } catch {
      return "fails"; // a truncated body: msgpackr names it differently read in place
    }
  };

  it("reads every one-byte body, and undefined, as msgpackr does, at any offset", () => {
    const bodies: Uint8Array[] = [Uint8Array.of(0xd4, 0, 0), Uint8Array.of(0xd4, 0, 1), encodeValue(undefined, "v").body, encodeValue([1, "a"], "v").body];
    for (let b = 0; b < 256; b++) bodies.push(Uint8Array.of(b));
    const all = new Uint8Array(bodies.reduce((n, b) => n + b.byteLength, 3));
    let at = 3;
    for (const b of bodies) {
      all.set(b, at);
      const start = at;
      at += b.byteLength;
      expect(outcome(() => decodeValueIn(all, start, at))).toEqual(outcome(() => decodeValue(b)));
    }
  });
});
