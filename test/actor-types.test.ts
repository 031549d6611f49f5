import { describe, expectTypeOf, it } from "vitest";
import type { CallOptions, Ref, Remote, RemoteActor, SpawnOptions } from "../src/index.ts";

type M = Remote<typeof import("./fixtures/actors.ts")>;
type Counter = import("./fixtures/actors.ts").Counter;
type C = RemoteActor<Counter>;

// Compile-time contract, checked by `npm run typecheck`; the test run only confirms the file loads.
describe("actor types", () => {
  it("offers exported classes with spawn, typed by the constructor", () => {
    expectTypeOf<M["Counter"]["spawn"]>().toBeCallableWith(1);
    expectTypeOf<M["Counter"]["spawn"]>().toBeCallableWith(1, "label");
    expectTypeOf<M["Counter"]["spawn"]>().toBeCallableWith({} as Ref<number>);
    expectTypeOf<M["Counter"]["spawn"]>().returns.toEqualTypeOf<Promise<C>>();
    expectTypeOf<M["Counter"]["spawn"]["with"]>().parameter(0).toEqualTypeOf<SpawnOptions>();
    expectTypeOf<ReturnType<M["Counter"]["spawn"]["with"]>>().returns.toEqualTypeOf<Promise<C>>();
    expectTypeOf<M["Counter"]["getOrSpawn"]>().returns.toEqualTypeOf<Promise<C>>();
  });

  it("maps each public method m(...a): R to (...a) => Promise<Awaited<R>>, with ref, with and go", () => {
    expectTypeOf<C["add"]>().parameters.toEqualTypeOf<[k: number | Ref<number>]>();
    expectTypeOf<C["add"]>().returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf<C["slowGet"]>().returns.toEqualTypeOf<Promise<number>>(); // not Promise<Promise<…>>
    expectTypeOf<C["add"]["ref"]>().returns.toEqualTypeOf<Ref<number>>();
    expectTypeOf<C["add"]["with"]>().parameter(0).toEqualTypeOf<CallOptions>();
    expectTypeOf<C["kill"]>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<C["actorId"]>().toEqualTypeOf<string>();
  });

  it("exposes no fields, private members or #private state", () => {
    expectTypeOf<C>().not.toHaveProperty("label");
    expectTypeOf<C>().not.toHaveProperty("secret");
    expectTypeOf<M["Counter"]>().not.toHaveProperty("add");
  });

  it("rejects wrong arguments at compile time", () => {
    const never = (m: M, c: C): unknown[] => [
      // @ts-expect-error the constructor takes a number first
      m.Counter.spawn("ten"),
      // @ts-expect-error add takes a number
      c.add("x"),
      // @ts-expect-error missing argument
      c.add(),
      // @ts-expect-error no such method
      c.subtract(1),
      // @ts-expect-error private members are not reachable
      c.secret(),
      // @ts-expect-error a function export has no spawn
      m.double.spawn(),
    ];
    expectTypeOf(never).toBeFunction();
  });
});
