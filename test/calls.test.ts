import { describe, expect, it } from "vitest";
import { ImportError, RemoteError } from "../src/index.ts";
import { fixture } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");

describe("remote calls", () => {
  const t = useCluster<{ m: M }>({ runners: 2, threads: 1 }, { m: "math.ts" });

  it("returns the function's result", async () => {
    expect(await t.m.add(2, 3)).toBe(5);
  });

  it("runs concurrent calls on every runner", async () => {
    const pids = await Promise.all(Array.from({ length: 20 }, () => t.m.pid()));
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);
  });

  it("rebuilds a thrown error as RemoteError with remote stack and cause", async () => {
    const err = await t.m.fail("bad input").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    const r = err as RemoteError;
    expect(r.code).toBe("ERR_STRAND_REMOTE");
    expect(r.remoteName).toBe("TypeError");
    expect(r.functionName).toBe("fail");
    expect(t.cluster.runners.map((x) => x.address)).toContain(r.runner);
    expect(r.remoteStack).toMatch(/at fail .*math\.ts/);
    expect(r.cause).toBeInstanceOf(RangeError);
    expect((r.cause as Error).message).toBe("inner bad input");
  });

  it("fails with ImportError for a missing export or a non-function", async () => {
    const anyM = t.m as unknown as Record<string, () => Promise<unknown>>;
    await expect(anyM.nope!()).rejects.toBeInstanceOf(ImportError);
    await expect(anyM.notAFunction!()).rejects.toThrow(/is a number, not a function/);
  });

  it("fails with ImportError when the module does not bundle", async () => {
    await expect(t.cluster.import(fixture("does-not-exist.ts"))).rejects.toBeInstanceOf(ImportError);
  });
});
