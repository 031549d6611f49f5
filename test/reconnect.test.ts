import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError, Cluster, RunnerLostError, type RunnerEvent } from "../src/index.ts";
import { Rejoin } from "../src/driver/link/rejoin.ts";
import { fixture, kill9, rejectionOf, RestartableRunners, RunnerEvents, silentLogger } from "./helpers.ts";

type M = typeof import("./fixtures/math.ts");

const TOKEN = "reconnect-test-token";
const runners = new RestartableRunners(TOKEN);
const runner = (listen?: string): ReturnType<RestartableRunners["start"]> => runners.start(listen);

afterEach(() => runners.stopAll());

describe("a lost runner rejoins when it answers again", () => {
  it("a runner killed and restarted on its address takes new calls again; its lost call ran elsewhere", async () => {
    const [a, b] = await Promise.all([runner(), runner()]); // at once: each start takes seconds on a loaded machine
    await using cluster = await Cluster.create({ runners: [a.address, b.address], token: TOKEN, logger: silentLogger() });
    const events = new RunnerEvents(cluster);
    const removed: RunnerEvent[] = [];
    const listener = (e: RunnerEvent): number => removed.push(e);
    cluster.on("runner", listener).off("runner", listener);
    const m = await cluster.import<M>(fixture("math.ts"));
    const onA = m.sleep(300); // the first call goes to the first runner with a free thread
    expect(cluster.runners.map((r) => r.inFlight)).toEqual([1, 0]);

    await kill9(a.proc.child);
    const lost = await events.next("lost", a.address);
    expect(lost.error).toBeInstanceOf(RunnerLostError);
    expect(await onA).toBe(300); // sent again to b by the retry policy
    const again = await runner(a.address);
    const joined = await events.next("joined", a.address);
    expect(joined.pid).toBe(again.proc.child.pid);
    expect(events.seen.map((e) => e.type)).toEqual(["lost", "joined"]);
    expect(removed).toEqual([]); // a listener taken off hears nothing

    // One entry per address, both alive, the new process in the old place.
    expect(cluster.runners.map((r) => [r.address, r.alive, r.pid])).toEqual([
      [a.address, true, again.proc.child.pid],
      [b.address, true, b.proc.child.pid],
    ]);
    // Sent at once, so placed by calls in flight, both runners taking some. (Calls sent as
    // earlier ones end could all go to b: the new process's first calls wait for its code.)
    await Promise.all(Array.from({ length: 8 }, () => m.sleep(20)));
    const stats = await cluster.runnerStats();
    expect(stats.map((s) => s.address)).toEqual([a.address, b.address]);
    expect(stats[0]!.calls).toBeGreaterThan(0); // the new process started with none
  });

  it("a cluster of one survives its runner's restart: with waitForRunners 0 calls fail while it is gone, then succeed", async () => {
    const a = await runner();
    await using cluster = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger(), waitForRunners: 0 });
    const events = new RunnerEvents(cluster);
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(await m.add(1, 2)).toBe(3);

    await kill9(a.proc.child);
    await events.next("lost", a.address);
    const err = await rejectionOf(m.add(2, 3));
    expect(err).toBeInstanceOf(RunnerLostError); // nothing to run it on: failed, not held
    await runner(a.address);
    await events.next("joined", a.address);
    expect(await m.add(2, 3)).toBe(5); // the new runner fetches the module by hash
  });

  it("with reconnect: false a lost runner stays lost, though it is back", async () => {
    const [a, b] = await Promise.all([runner(), runner()]); // at once: each start takes seconds on a loaded machine
    await using cluster = await Cluster.create({ runners: [a.address, b.address], token: TOKEN, reconnect: false, logger: silentLogger() });
    const events = new RunnerEvents(cluster);
    await kill9(a.proc.child);
    await events.next("lost", a.address);
    const again = await runner(a.address);
    // The restarted runner serves a new driver; this one never dials it again.
    await using other = await Cluster.create({ runners: [a.address], token: TOKEN, logger: silentLogger() });
    expect(other.runners[0]!.pid).toBe(again.proc.child.pid);
    const m = await cluster.import<M>(fixture("math.ts"));
    expect(new Set(await Promise.all(Array.from({ length: 4 }, () => m.pid())))).toEqual(new Set([b.proc.child.pid]));
    expect(cluster.runners.map((r) => r.alive)).toEqual([false, true]);
    expect(events.seen.filter((e) => e.type === "joined")).toEqual([]);
  });
});

describe("Rejoin (the backoff loop)", () => {
  it("waits longer after each failure, up to the bound, and hands over the link once open succeeds", async () => {
    const at: number[] = [];
    const t0 = performance.now();
    const link = await new Promise<string>((resolve) => {
      const r = new Rejoin<string>({
        open: (address) => {
          at.push(performance.now() - t0);
          return at.length < 6 ? Promise.reject(new Error("ECONNREFUSED")) : Promise.resolve(`link to ${address}`);
        },
        joined: (_address, l) => resolve(l),
        log: silentLogger(),
      }, { initialDelayMs: 10, maxDelayMs: 40 });
      r.watch("h:1");
      r.watch("h:1"); // already being tried: no second loop
    });
    expect(link).toBe("link to h:1");
    expect(at).toHaveLength(6);
    const gaps = at.map((t, i) => t - (at[i - 1] ?? 0));
    // 10, 20, 40, 40, 40, 40 ms nominal, ±20% jitter; timers fire late, or up to ~1 ms early
    // (libuv rounds to whole milliseconds).
    expect(gaps[0]!).toBeGreaterThanOrEqual(6);
    expect(gaps[2]!).toBeGreaterThanOrEqual(30);
    expect(Math.min(...gaps.slice(3))).toBeGreaterThanOrEqual(30);
  });

  it("stops at an AuthError (asking again would not help), saying so; and after stop()", async () => {
    let opens = 0;
    const lines: string[] = [];
    let gaveUp!: () => void;
    const said = new Promise<void>((resolve) => (gaveUp = resolve));
    const log = pino({ level: "error" }, new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        if (chunk.toString().includes("not reconnecting")) gaveUp();
        done();
      },
    }));
    const r = new Rejoin<string>({
      open: () => (opens++, Promise.reject(new AuthError("bad token"))),
      joined: () => expect.unreachable("joined"),
      log,
    }, { initialDelayMs: 1, maxDelayMs: 1 });
    r.watch("h:1");
    await said;
    expect(opens).toBe(1);
    expect(r.pending).toEqual([]); // no timer left: no further attempt can come
    expect(lines.join("")).toMatch(/"runner":"h:1"/);

    let stoppedOpens = 0;
    const s = new Rejoin<string>({ open: () => (stoppedOpens++, Promise.reject(new Error("down"))), joined: () => {}, log: silentLogger() }, { initialDelayMs: 1, maxDelayMs: 1 });
    s.watch("h:2");
    await s.stop();
    s.watch("h:2");
    expect(s.pending).toEqual([]);
    expect(stoppedOpens).toBe(0);
  });

  it("refuses a delay bound below the first delay", () => {
    expect(() => new Rejoin({ open: () => Promise.reject(new Error("x")), joined: () => {}, log: silentLogger() }, { initialDelayMs: 100, maxDelayMs: 10 })).toThrow(TypeError);
  });
});
