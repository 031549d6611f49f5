import { beforeAll, describe, expect, it } from "vitest";
import { RemoteError } from "../src/index.ts";
import { useCluster } from "./use-cluster.ts";

type M = typeof import("./fixtures/math.ts");

// The plain calls of one turn go to a runner thread in one frame (T.Calls) and their results
// come back in one (T.Results); calls and results that are big, carry attachments, use objects
// or are an actor's keep frames of their own. Here a turn mixes all of them on one thread's
// lane: every value, error and kept result must come back to its own caller.
describe("calls and results batched per turn", () => {
  const t = useCluster<{ m: M }>({ runners: 1, threads: 1 }, { m: "math.ts" });
  beforeAll(async () => {
    // The first call brings the code over the main connection; then the lane comes up.
    while (t.cluster.runners[0]!.lanes.length < 1) await t.m.add(0, 0);
  });

  it("a turn of small calls, big arguments, big results, failures and kept results: each caller gets its own", async () => {
    const big = Float64Array.from({ length: 4096 }, (_, i) => i / 3); // 32 KiB: an attachment, its own frame
    const long = "y".repeat(12 * 1024); // one body over the batch's limit
    const calls: Promise<unknown>[] = [];
    const want: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 50 === 7) {
        calls.push(t.m.echo(big));
        want.push(big);
      } else if (i % 50 === 13) {
        calls.push(t.m.echo(long));
        want.push(long);
      } else if (i % 50 === 21) {
        calls.push(t.m.fail(`no ${i}`).catch((e: unknown) => e));
        want.push(i);
      } else if (i % 50 === 33) {
        calls.push(t.cluster.get(t.m.add.ref(i, 1)));
        want.push(i + 1);
      } else {
        calls.push(t.m.add(i, 1000));
        want.push(i + 1000);
      }
    }
    const got = await Promise.all(calls);
    got.forEach((g, i) => {
      if (i % 50 === 21) {
        // Errors keep their name, cause and remote stack (a RemoteError, as unbatched).
        const r = g as RemoteError;
        expect(r).toBeInstanceOf(RemoteError);
        expect([r.remoteName, r.functionName]).toEqual(["TypeError", "fail"]);
        expect(r.remoteStack).toMatch(/at fail .*math\.ts/);
        expect((r.cause as Error).message).toBe(`inner no ${i}`);
      } else {
        expect(g).toEqual(want[i]);
      }
    });
    expect(t.cluster.runners[0]!.lanes).toHaveLength(1);
  });

  it("a burst bigger than one batch (over 1,024 calls in a turn) comes back whole and in place", async () => {
    const n = 5000;
    const got = await Promise.all(Array.from({ length: n }, (_, i) => t.m.add(i, -1)));
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i - 1));
  });
});
