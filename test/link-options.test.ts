import { describe, expectTypeOf, it } from "vitest";
import type { ClusterOptions, ConnectOptions, HeartbeatOptions, LinkOptions, LocalOptions, LogsOption, ReconnectOptions } from "../src/index.ts";

/** The keys of T whose type is `any`. */
type AnyKeys<T> = { [K in keyof T]-?: 0 extends 1 & T[K] ? K : never }[keyof T];

// Compile-time contract, checked by `npm run typecheck`; the test run only confirms the file loads.
describe("link options", () => {
  it("are one type, shared by Cluster.create, connect() and local()", () => {
    expectTypeOf<ClusterOptions>().toMatchTypeOf<LinkOptions>();
    expectTypeOf<ConnectOptions>().toMatchTypeOf<LinkOptions>();
    expectTypeOf<LocalOptions>().toMatchTypeOf<LinkOptions>();
    expectTypeOf<Pick<ClusterOptions, keyof LinkOptions>>().toEqualTypeOf<LinkOptions>();
    expectTypeOf<Pick<ConnectOptions, keyof LinkOptions>>().toEqualTypeOf<LinkOptions>();
    expectTypeOf<Pick<LocalOptions, keyof LinkOptions>>().toEqualTypeOf<LinkOptions>();
  });

  it("say what each of them takes", () => {
    expectTypeOf<LinkOptions>().toEqualTypeOf<{ heartbeat?: HeartbeatOptions; retries?: number; reconnect?: boolean | ReconnectOptions; logs?: LogsOption; waitForRunners?: number }>();
  });

  it("leave internal hooks out of the public options", () => {
    expectTypeOf<ClusterOptions>().not.toHaveProperty("onClose");
    expectTypeOf<ConnectOptions>().not.toHaveProperty("onClose");
    expectTypeOf<LocalOptions>().not.toHaveProperty("onClose");
  });

  it("have no `any` in them", () => {
    expectTypeOf<AnyKeys<ClusterOptions>>().toBeNever();
    expectTypeOf<AnyKeys<ConnectOptions>>().toBeNever();
    expectTypeOf<AnyKeys<LocalOptions>>().toBeNever();
    expectTypeOf<AnyKeys<HeartbeatOptions>>().toBeNever();
    expectTypeOf<AnyKeys<ReconnectOptions>>().toBeNever();
  });
});
