import { describe, expect, it } from "vitest";
import type { Cluster } from "../src/index.ts";
import { RunnerEvents } from "./helpers.ts";
import type { Hosts } from "./hosts/hosts.ts";
import { CELL_MS, hostsForSuite, titled } from "./hosts/suite.ts";
import { boundMs, TIGHT, TOLERANT } from "./hosts/heartbeats.ts";
import { eventually } from "./hosts/outcomes.ts";
import { record } from "./hosts/report.ts";
import { netnsUnavailable } from "./hosts/support.ts";
import { WORKLOADS } from "./hosts/workloads.ts";
import { ACTOR_CELL } from "./hosts/actor-workload.ts";

// Fault matrix, row "cut a link for 1 s, then restore": the victim host's veth goes down for
// a second. Run twice: with a heartbeat bound shorter than the cut (the driver must declare
// the runner lost: typed errors) and with one longer than the cut (TCP rides it out: the
// right values, later).
const unavailable = netnsUnavailable();
const CUT_MS = 1000;

/**
 * What the victim still holds or runs, seen from a driver the fault did not touch. (Its
 * session count would not tell: runners that fetched objects from it hold sessions too.)
 */
async function victimLoad(hosts: Hosts, victim: number): Promise<{ objects: number; inFlight: number; actors: number }> {
  await using observer = await hosts.connect({ heartbeat: TIGHT });
  const s = (await observer.runnerStats()).find((x) => x.address === hosts.addresses[victim])!;
  return { objects: s.objects, inFlight: s.inFlight, actors: s.actors?.length ?? 0 };
}

describe.skipIf(unavailable !== undefined)(titled("fault matrix: cut a link for 1 s, then restore", unavailable), () => {
  let hosts!: Hosts;
  hostsForSuite((h) => (hosts = h));

  for (const [variant, heartbeat] of [["heartbeat bound < cut", TIGHT], ["heartbeat bound > cut", TOLERANT]] as const) {
    for (const [cell, workload] of [...WORKLOADS, ACTOR_CELL]) {
      it(`${variant}, ${cell}: every outcome is the right value or a typed error; nothing hangs or leaks`, { timeout: CELL_MS }, async () => {
        let c: Cluster | undefined = await hosts.connect({ heartbeat });
        try {
          const events = new RunnerEvents(c);
          const run = await workload(c, hosts, {});
          const address = hosts.addresses[run.victim]!;
          const { at, restored } = await hosts.cut(run.victim, CUT_MS);
          const r = await run.settled(at);
          await restored;
          const back = performance.now();
          const lost = events.seen.some((e) => e.type === "lost" && e.address === address);
          // A short bound must have noticed a 1 s silence; a long one must not have.
          expect(lost).toBe(boundMs(heartbeat) < CUT_MS);
          let outcome = r.outcome;
          const idle = (x: { objects: number; inFlight: number; actors: number }): boolean => x.objects === 0 && x.inFlight === 0 && x.actors === 0;
          if (lost) {
            // The driver dials the runner again once the link is back, with a new session.
            const joined = await events.next("joined", address);
            expect(joined.pid).toBe(hosts.runner(run.victim).pid);
            expect(c.runners[run.victim]!.alive).toBe(true);
            outcome += `; rejoined ${((performance.now() - back) / 1000).toFixed(1)} s after the link came back`;
            // The runner hears that the old session was dropped, stops its work and lets go
            // of its objects, while the driver is still running.
            await eventually(() => victimLoad(hosts, run.victim), idle, "the victim to drop the lost driver's work, objects and actors");
          }
          record({ row: "cut a link for 1 s, then restore", cell: `${cell} (${variant})`, ...r, outcome, heartbeat });
          await c.close();
          c = undefined;
          await eventually(() => victimLoad(hosts, run.victim), idle, "the victim to drop the closed driver's work, objects and actors");
        } finally {
          await c?.close();
        }
      });
    }
  }
});
