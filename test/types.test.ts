import { describe, expectTypeOf, it } from "vitest";
import type { CallOptions, Ref, Remote } from "../src/index.ts";

type M = Remote<typeof import("./fixtures/typed.ts")>;

// Compile-time contract: f(a: A): R becomes (a: A | Ref<A>) => Promise<Awaited<R>>.
// `npm run typecheck` checks these; the test run only confirms the file loads.
describe("Remote<M> types", () => {
  it("maps each exported function to a promise-returning one with the same parameters, each also as a Ref", () => {
    expectTypeOf<M["scale"]>().parameters.toEqualTypeOf<[v: Float64Array | Ref<Float64Array>, k: number | Ref<number>]>();
    expectTypeOf<M["scale"]>().returns.toEqualTypeOf<Promise<Float64Array>>();
    expectTypeOf<M["lookup"]>().returns.toEqualTypeOf<Promise<Map<string, number>>>(); // not Promise<Promise<…>>
    expectTypeOf<M["optional"]>().toBeCallableWith(1);
    expectTypeOf<M["optional"]>().toBeCallableWith(1, "x");
  });

  it("accepts Refs inside arrays and objects", () => {
    expectTypeOf<M["lookup"]>().toBeCallableWith([{} as Ref<string>, "b"]);
    expectTypeOf<M["lookup"]>().toBeCallableWith({} as Ref<string[]>);
  });

  it("offers .with(options) returning the same call", () => {
    expectTypeOf<M["scale"]["with"]>().parameter(0).toEqualTypeOf<CallOptions>();
    expectTypeOf<ReturnType<M["scale"]["with"]>>().returns.toEqualTypeOf<Promise<Float64Array>>();
  });

  it("offers .ref(...) returning a Ref to the awaited result", () => {
    expectTypeOf<M["scale"]["ref"]>().returns.toEqualTypeOf<Ref<Float64Array>>();
    expectTypeOf<M["lookup"]["ref"]>().returns.toEqualTypeOf<Ref<Map<string, number>>>();
  });

  it("rejects wrong arguments and Refs of the wrong type at compile time", () => {
    const never = (m: M, r: Ref<string>): unknown[] => [
      // @ts-expect-error a string is not a Float64Array
      m.scale("x", 1),
      // @ts-expect-error missing argument
      m.scale(new Float64Array(1)),
      // @ts-expect-error a Ref<string> is not a Float64Array
      m.scale(r, 1),
    ];
    expectTypeOf(never).toBeFunction();
  });

  it("leaves out non-function exports", () => {
    expectTypeOf<M>().not.toHaveProperty("VERSION");
  });
});

describe("directional channel types", () => {
  it("Chan<T> is both a SendChan<T> and a RecvChan<T>; each direction hides the other's operations", () => {
    type Chan<T> = import("../src/index.ts").Chan<T>;
    type SendChan<T> = import("../src/index.ts").SendChan<T>;
    type RecvChan<T> = import("../src/index.ts").RecvChan<T>;
    expectTypeOf<Chan<number>>().toMatchTypeOf<SendChan<number>>();
    expectTypeOf<Chan<number>>().toMatchTypeOf<RecvChan<number>>();
    const never = (s: SendChan<number>, r: RecvChan<number>, c: Chan<string>): unknown[] => [
      // @ts-expect-error a send-only channel cannot receive
      s.recv(),
      // @ts-expect-error a receive-only channel cannot send
      r.send(1),
      // @ts-expect-error nor close: closing is the sender's
      r.close(),
      // @ts-expect-error a Chan<string> is no SendChan<number>
      ((x: SendChan<number>) => x)(c),
      // @ts-expect-error a RecvChan<number> yields numbers, not strings
      ((x: RecvChan<string>) => x)(r),
      // @ts-expect-error a SendChan<number> does not take strings
      s.send("x"),
    ];
    // A receive-only channel of a narrower type is one of a wider type (covariant), and a
    // send-only one of a wider type takes the narrower values (contravariant).
    expectTypeOf<RecvChan<1>>().toMatchTypeOf<RecvChan<number>>();
    expectTypeOf<SendChan<number>>().toMatchTypeOf<SendChan<1>>();
    expectTypeOf(never).toBeFunction();
  });
});
