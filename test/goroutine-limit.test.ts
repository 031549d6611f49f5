import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, GoroutineLimitError, type Chan, type Cluster, type Goroutine } from "../src/index.ts";
import { cleanEnv, fixture, runCli, type CliProcess } from "./helpers.ts";

type G = typeof import("./fixtures/goroutines.ts");

// A real limit says so at the `go` call, never by a silent queue: a runner started with
// `--max-goroutines 3` refuses a fourth live goroutine with GoroutineLimitError, naming
// itself and why, whichever way the goroutine came (its main link or a thread's lane).

describe("a runner at its goroutine limit refuses at the go call", () => {
  const token = "goroutine-limit-test-token";
  let runner: CliProcess;
  let address: string;
  let cluster: Cluster;
  let m: Awaited<ReturnType<typeof cluster.import<G>>>;
  const failures: Error[] = [];
  /** How the calls of the test under way went: over a lane (true) or the main link. */
  const viaLane: boolean[] = [];

  beforeAll(async () => {
    runner = runCli(["runner", "--listen", "127.0.0.1:0", "--threads", "2", "--max-goroutines", "3"], cleanEnv({ STRAND_TOKEN: token, STRAND_LOG: "silent" }));
    address = (await runner.line(/^listening on (\S+)$/))[1]!;
    cluster = await connect({ runners: [address], token });
    cluster.on("error", (err) => failures.push(err));
    cluster.observe({ submitted: () => {}, sent: (c) => viaLane.push(c.lanePort !== undefined), settled: () => {} });
    m = await cluster.import<G>(fixture("goroutines.ts"));
  });

  afterAll(async () => {
    await cluster?.close();
    runner?.child.kill("SIGKILL");
    await runner?.exit;
  });

  /** Starts four goroutines blocked on `ch`: the runner takes three; returns the refused one's error. */
  async function fourth(ch: Chan<number>): Promise<{ gs: Goroutine<string>[]; refused: unknown }> {
    const gs = Array.from({ length: 4 }, () => m.blocked.go(ch));
    // The first to settle: it must be the refused one (the others block until the close).
    const refused = await Promise.race(gs.map((g) => g.result.then((v) => `ended: ${v}`, (err: unknown) => err)));
    return { gs, refused };
  }

  async function check(path: string, lane: boolean): Promise<void> {
    const ch = cluster.chan<number>();
    failures.length = 0;
    viaLane.length = 0;
    const { gs, refused } = await fourth(ch);
    expect(viaLane, path).toEqual([lane, lane, lane, lane]);
    expect(refused, path).toBeInstanceOf(GoroutineLimitError);
    const e = refused as GoroutineLimitError;
    expect(e.code).toBe("ERR_STRAND_GOROUTINE_LIMIT");
    expect(e.runner).toBe(address);
    expect(e.reason).toMatch(/3 goroutines live \(--max-goroutines 3\)/);
    expect(e.message).toMatch(new RegExp(`goroutine blocked refused by runner ${address.replace(/\./g, "\\.")}`));
    // The "error" event has it too; the other three are live, and blocked.
    expect(failures).toContain(refused);
    expect((await cluster.runnerStats())[0]!.goroutines).toBe(3);
    // The room comes back as they end.
    await ch.close();
    const ended = await Promise.allSettled(gs.map((g) => g.result));
    expect(ended.filter((r) => r.status === "fulfilled").map((r) => r.value)).toEqual(["closed", "closed", "closed"]);
    expect((await cluster.runnerStats())[0]!.goroutines).toBe(0);
  }

  it("on the main link (the module not warm on the runner yet)", async () => {
    await check("main link", false);
  });

  it("on a thread's lane (the module warm)", async () => {
    expect(await m.ping()).toBe("pong"); // a finished call: later ones take the lanes
    await check("lane", true);
  });
});
