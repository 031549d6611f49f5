import { describe, expect, it } from "vitest";
import type { Remote } from "../src/index.ts";
import { fixture, RunnerEvents } from "./helpers.ts";
import type { Hosts } from "./hosts/hosts.ts";
import { CELL_MS, hostsForSuite, titled } from "./hosts/suite.ts";
import { TIGHT } from "./hosts/heartbeats.ts";
import { range } from "./hosts/outcomes.ts";
import { record } from "./hosts/report.ts";
import { netnsUnavailable } from "./hosts/support.ts";
import { plainCalls, WORKLOADS } from "./hosts/workloads.ts";
import { ACTOR_CELL } from "./hosts/actor-workload.ts";

// Fault matrix, rows "kill -9 a runner" and "runner restarts with the same address": three
// hosts (network namespaces), a runner on each, the driver in the root namespace.
const unavailable = netnsUnavailable();

type F = typeof import("./fixtures/faults.ts");

describe.skipIf(unavailable !== undefined)(titled("fault matrix: kill -9 a runner", unavailable), () => {
  let hosts!: Hosts;
  hostsForSuite((h) => (hosts = h));

  for (const [cell, workload] of [...WORKLOADS, ACTOR_CELL]) {
    it(`${cell}: every outcome is the right value or a typed error; nothing hangs`, { timeout: CELL_MS }, async () => {
      await using c = await hosts.connect({ heartbeat: TIGHT });
      const run = await workload(c, hosts, {});
      const at = await hosts.kill9(run.victim);
      const r = await run.settled(at);
      expect(c.runners[run.victim]!.alive).toBe(false);
      record({ row: "kill -9 a runner", cell, ...r, heartbeat: TIGHT });
    });
  }

  it("runner restarts with the same address: old in-flight calls fail or retry, new calls succeed, the driver rejoins it", async () => {
    await using c = await hosts.connect({ heartbeat: TIGHT });
    const events = new RunnerEvents(c);
    const run = await plainCalls(c, hosts, {});
    const address = hosts.addresses[run.victim]!;
    const oldPid = hosts.runner(run.victim).pid;
    const at = performance.now();
    await hosts.restart(run.victim); // kill -9, then a new runner on the same address
    const r = await run.settled(at); // old calls: right value or RunnerLostError; new calls on c succeed
    // The driver keeps dialling the lost address: the new process there joins its cluster.
    const joined = await events.next("joined", address);
    const rejoinMs = performance.now() - at;
    expect(joined.pid).toBe(hosts.runner(run.victim).pid);
    expect(c.runners[run.victim]).toMatchObject({ address, alive: true, pid: joined.pid });
    const m: Remote<F> = await c.import<F>(fixture("faults.ts"));
    const pids = new Set((await Promise.all(range(12).map((x) => m.square(x, 20)))).map((x) => x.pid));
    expect(pids.has(joined.pid)).toBe(true);
    expect(pids.has(oldPid)).toBe(false);
    const outcome = `${r.outcome}; the driver rejoined the new runner ${(rejoinMs / 1000).toFixed(2)} s after the kill and ran new calls there`;
    record({ row: "runner restarts with the same address", cell: "plain calls in flight, then new calls", ...r, outcome, heartbeat: TIGHT });
  });
});
