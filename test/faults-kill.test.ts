import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Remote } from "../src/index.ts";
import { fixture } from "./helpers.ts";
import { Hosts } from "./hosts/hosts.ts";
import { TIGHT } from "./hosts/heartbeats.ts";
import { range } from "./hosts/outcomes.ts";
import { record } from "./hosts/report.ts";
import { netnsUnavailable } from "./hosts/support.ts";
import { plainCalls, WORKLOADS } from "./hosts/workloads.ts";

// Fault matrix, rows "kill -9 a runner" and "runner restarts with the same address": three
// hosts (network namespaces), a runner on each, the driver in the root namespace.
const unavailable = netnsUnavailable();
const title = (t: string): string => (unavailable === undefined ? t : `${t} (skipped: ${unavailable})`);

type F = typeof import("./fixtures/faults.ts");

describe.skipIf(unavailable !== undefined)(title("fault matrix: kill -9 a runner"), () => {
  let hosts: Hosts;
  beforeAll(async () => {
    hosts = await Hosts.start({ hosts: 3 });
  });
  afterAll(() => hosts?.close());
  afterEach(() => hosts.heal());

  for (const [cell, workload] of WORKLOADS) {
    it(`${cell}: every outcome is the right value or a typed error; nothing hangs`, async () => {
      await using c = await hosts.connect({ heartbeat: TIGHT });
      const run = await workload(c, hosts, {});
      const at = await hosts.kill9(run.victim);
      const r = await run.settled(at);
      expect(c.runners[run.victim]!.alive).toBe(false);
      record({ row: "kill -9 a runner", cell, ...r, heartbeat: TIGHT });
    });
  }

  it("runner restarts with the same address: old in-flight calls fail or retry, new calls succeed", async () => {
    await using c = await hosts.connect({ heartbeat: TIGHT });
    const run = await plainCalls(c, hosts, {});
    const oldPid = hosts.runner(run.victim).pid;
    const at = performance.now();
    await hosts.restart(run.victim); // kill -9, then a new runner on the same address
    const r = await run.settled(at); // old calls: right value or RunnerLostError; new calls on c succeed
    // A driver connecting now reaches the new process at the old address and runs calls there.
    await using fresh = await hosts.connect({ heartbeat: TIGHT });
    const m: Remote<F> = await fresh.import<F>(fixture("faults.ts"));
    const pids = new Set((await Promise.all(range(12).map((x) => m.square(x, 20)))).map((x) => x.pid));
    expect(pids.has(hosts.runner(run.victim).pid)).toBe(true);
    expect(pids.has(oldPid)).toBe(false);
    // The first driver does not reconnect: the restarted runner stays lost to it.
    expect(c.runners[run.victim]!.alive).toBe(false);
    record({ row: "runner restarts with the same address", cell: "plain calls in flight, then new calls", ...r, heartbeat: TIGHT });
  });
});
