import { describe, expectTypeOf, it } from "vitest";
import type { CallOptions, Remote } from "../src/index.ts";

type M = Remote<typeof import("./fixtures/typed.ts")>;

// Compile-time contract: f(a: A): R becomes (a: A) => Promise<Awaited<R>>. `npm run
// typecheck` checks these; the test run only confirms the file loads.
describe("Remote<M> types", () => {
  it("maps each exported function to a promise-returning one with the same parameters", () => {
    expectTypeOf<M["scale"]>().parameters.toEqualTypeOf<[v: Float64Array, k: number]>();
    expectTypeOf<M["scale"]>().returns.toEqualTypeOf<Promise<Float64Array>>();
    expectTypeOf<M["lookup"]>().returns.toEqualTypeOf<Promise<Map<string, number>>>(); // not Promise<Promise<…>>
    expectTypeOf<M["optional"]>().parameters.toEqualTypeOf<[a: number, b?: string]>();
  });

  it("offers .with(options) returning the same call", () => {
    expectTypeOf<M["scale"]["with"]>().parameter(0).toEqualTypeOf<CallOptions>();
    expectTypeOf<ReturnType<M["scale"]["with"]>>().toEqualTypeOf<(v: Float64Array, k: number) => Promise<Float64Array>>();
  });

  it("rejects wrong arguments at compile time", () => {
    const never = (m: M): unknown[] => [
      // @ts-expect-error a string is not a Float64Array
      m.scale("x", 1),
      // @ts-expect-error missing argument
      m.scale(new Float64Array(1)),
    ];
    expectTypeOf(never).toBeFunction();
  });

  it("leaves out non-function exports", () => {
    expectTypeOf<M>().not.toHaveProperty("VERSION");
  });
});
