import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError, Cluster, type RunnerStats } from "../src/index.ts";
import { T } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { cleanEnv, exited, fixture, RawPeer, recordedSession, rejectionOf } from "./helpers.ts";
import { Hosts } from "./hosts/hosts.ts";
import { CELL_MS, HOSTS_HOOK_MS, titled } from "./hosts/suite.ts";
import { TOLERANT } from "./hosts/heartbeats.ts";
import { eventually } from "./hosts/outcomes.ts";
import { record } from "./hosts/report.ts";
import { netnsUnavailable } from "./hosts/support.ts";

// Fault matrix, rows "driver dies" and "wrong / missing token, replayed handshake".
const unavailable = netnsUnavailable();

type F = typeof import("./fixtures/faults.ts");

/** What each runner does and holds, by address; a driver's handshake alone changes none of it. */
const work = (stats: readonly (RunnerStats & { address: string })[]): { calls: number; codeFetches: number; objects: number; inFlight: number }[] =>
  stats.map((s) => ({ calls: s.calls, codeFetches: s.codeFetches, objects: s.objects, inFlight: s.inFlight }));

/** Starts fixtures/doomed-driver.ts against the hosts; resolves once it has left work everywhere. */
async function doomedDriver(hosts: Hosts): Promise<{ kill(): Promise<void> }> {
  const script = fileURLToPath(fixture("doomed-driver.ts"));
  const env = cleanEnv({ STRAND_RUNNERS: hosts.addresses.join(","), STRAND_TOKEN: hosts.token, STRAND_LOG: "silent" });
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script], { env, stdio: ["ignore", "pipe", "inherit"] });
  const exit = exited(child);
  await new Promise<void>((resolve, reject) => {
    void exit.then((code) => reject(new Error(`the doomed driver exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on("line", (l) => l === "ready" && resolve());
  });
  return {
    async kill() {
      child.kill("SIGKILL");
      await exit;
    },
  };
}

describe.skipIf(unavailable !== undefined)(titled("fault matrix: a driver dies; bad handshakes", unavailable), () => {
  let hosts: Hosts;
  // Another driver, watching the runners' own counters; a tolerant heartbeat, so that a busy
  // machine cannot make it drop a runner between two readings.
  let observer: Cluster;
  beforeAll(async () => {
    hosts = await Hosts.start({ hosts: 3 });
    observer = await hosts.connect({ heartbeat: TOLERANT });
  }, HOSTS_HOOK_MS);
  afterAll(async () => {
    await observer?.close();
    await hosts?.close();
  }, HOSTS_HOOK_MS);

  it("a driver SIGKILLed in the middle of its work: every runner frees its objects and stops its calls", { timeout: CELL_MS }, async () => {
    const driver = await doomedDriver(hosts);
    let loaded: (RunnerStats & { address: string })[];
    try {
      loaded = await observer.runnerStats();
      // On every runner: its put, and a plain call, a call with a timeout, a goroutine and a rank running; an actor.
      expect(loaded).toHaveLength(3);
      for (const s of loaded) {
        expect(s.objects, s.address).toBeGreaterThanOrEqual(1);
        expect(s.inFlight, s.address).toBeGreaterThanOrEqual(4);
        expect(s.actors?.length, s.address).toBe(1);
      }
    } catch (err) {
      await driver.kill(); // or its calls hold the runners' threads for the tests after this one
      throw err;
    }
    const at = performance.now();
    await driver.kill();
    await eventually(() => observer.runnerStats(), (ss) => ss.every((s) => s.objects === 0 && s.inFlight === 0 && (s.actors?.length ?? 0) === 0), "runners to drop the dead driver's objects, calls and actors");
    const settleMs = performance.now() - at;
    const objects = loaded.reduce((n, s) => n + s.objects, 0);
    const calls = loaded.reduce((n, s) => n + s.inFlight, 0);
    const actors = loaded.reduce((n, s) => n + (s.actors?.length ?? 0), 0);
    record({
      row: "driver dies (SIGKILL)", cell: "objects, plain and timed calls, goroutines, an SPMD job, actors",
      outcome: `all ${objects} objects freed, all ${calls} calls stopped, all ${actors} actors ended (seen from another driver)`, detectMs: settleMs, settleMs, heartbeat: TOLERANT,
    });
    // The runners serve the other driver as before.
    const m = await observer.import<F>(fixture("faults.ts"));
    expect((await m.square(7, 0)).value).toBe(49);
  });

  it("a wrong token is refused with AuthError; nothing runs", async () => {
    const before = work(await observer.runnerStats());
    const at = performance.now();
    const err = await rejectionOf(hosts.connect({ token: "wrong" }));
    const detectMs = performance.now() - at;
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe("ERR_STRAND_AUTH");
    expect(work(await observer.runnerStats())).toEqual(before);
    record({ row: "wrong / missing token, replayed handshake", cell: "wrong token", outcome: "AuthError; no call, code fetch or object on any runner", detectMs, settleMs: detectMs, heartbeat: TOLERANT });
  });

  it("a missing token is refused with AuthError; nothing runs", async () => {
    const before = work(await observer.runnerStats());
    const at = performance.now();
    const err = await rejectionOf(hosts.connect({ token: undefined }));
    const detectMs = performance.now() - at;
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/token/);
    expect(work(await observer.runnerStats())).toEqual(before);
    record({ row: "wrong / missing token, replayed handshake", cell: "missing token", outcome: "AuthError; no call, code fetch or object on any runner", detectMs, settleMs: detectMs, heartbeat: TOLERANT });
  });

  it("a recorded session (handshake, module, call) replayed on a new connection is refused at Auth; nothing runs", async () => {
    const target = hosts.addresses[0]!;
    // A man in the middle on the root namespace's side of the bridge records what a real driver sends.
    const frames = await recordedSession(target, hosts.token, async (victim) => {
      const m = await victim.import<F>(fixture("faults.ts"));
      expect((await m.square(3, 0)).value).toBe(9);
    });
    expect(frames.map((f) => readHeader(f, ANY_MESSAGE)[0])).toEqual(expect.arrayContaining([T.Hello, T.Auth, T.Module, T.Call]));

    const before = work(await observer.runnerStats());
    const at = performance.now();
    const peer = await RawPeer.connect(target);
    for (const f of frames) peer.sendFrame(f); // everything the driver said, at once
    const replies: number[] = [];
    const refused = await (async () => {
      for (;;) {
        const h = await peer.nextHeader();
        replies.push(h[0]);
        if (h[0] === T.Refused) return h;
      }
    })();
    const detectMs = performance.now() - at;
    expect(replies).toEqual([T.Challenge, T.Refused]); // a fresh nonce: the old proof is worthless
    expect(refused[1]).toBe(AuthError.code);
    await peer.closed();
    expect(work(await observer.runnerStats())).toEqual(before);
    record({ row: "wrong / missing token, replayed handshake", cell: "replayed session", outcome: "Refused (AuthError), connection closed; the replayed call never ran", detectMs, settleMs: detectMs, heartbeat: TOLERANT });
  });
});
