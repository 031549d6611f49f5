import { expect } from "vitest";
import { ActorDiedError } from "../../src/index.ts";
import { fixture } from "../helpers.ts";
import { describeTally, noHang, range, since, tally, track, type Settled } from "./outcomes.ts";
import type { Workload } from "./workloads.ts";

// The fault matrix's actor column: actors living on the victim when the fault hits, with
// calls in their mailboxes. One may restart (maxRestarts 1) and keeps its state through
// checkpoint()/restore(); one may not (maxRestarts 0); a bystander lives on another host.
// Every call ends with the right value or ActorDiedError, never a hang; the restartable one
// then serves again with the state its driver last saw, the other fails typed, the bystander
// never notices.

type A = typeof import("../fixtures/actor-faults.ts");

const CALLS = 4;
const CALL_MS = 200;

export const actorCalls: Workload = async (c, hosts) => {
  const victim = 1;
  const m = await c.import<A>(fixture("actor-faults.ts"));
  const on = (i: number): { runner: string } => ({ runner: hosts.addresses[i]! });
  const kept = await m.Ledger.spawn.with({ ...on(victim), maxRestarts: 1 })();
  const mortal = await m.Tally.spawn.with(on(victim))(0, "mortal");
  const bystander = await m.Tally.spawn.with(on(0))(0, "bystander");
  expect(hosts.indexOfPid(await kept.pid())).toBe(victim);
  expect(hosts.indexOfPid(await mortal.pid())).toBe(victim);
  const before = 10;
  expect(await kept.add(before)).toBe(before); // checkpointed: what a restart restores
  // Queued in each mailbox: one runs, the others wait their turn when the fault hits.
  const keptCalls = range(CALLS).map(() => track(kept.slowAdd(1, CALL_MS)));
  const mortalCalls = range(CALLS).map(() => track(mortal.slowAdd(1, CALL_MS)));
  const bystanderCalls = range(CALLS).map(() => track(bystander.slowAdd(1, CALL_MS)));
  return {
    victim,
    async settled(t0) {
      const [k, d, b] = await noHang(Promise.all([Promise.all(keptCalls), Promise.all(mortalCalls), Promise.all(bystanderCalls)]), "actor calls");
      // One at a time, in order: the calls that succeed return the running total.
      const tk = tally(k, (v) => expect(v).toBeGreaterThan(before), [ActorDiedError]);
      const td = tally(d, (v, i) => expect(v).toBe(i + 1), [ActorDiedError]);
      const tb = tally(b, (v, i) => expect(v).toBe(i + 1), []);
      const restarted = c.stats.actors.find((a) => a.id === kept.actorId)!.restarts > 0;
      // After the fault: the restartable actor answers (restarted elsewhere, or never lost), with at
      // least every add whose result its driver saw (its checkpoint goes out before each result).
      const total = await noHang(kept.total(), "the restartable actor after the fault");
      expect(total).toBeGreaterThanOrEqual(before + tk.correct);
      expect(total).toBeLessThanOrEqual(before + CALLS);
      const keptHost = hosts.indexOfPid(await noHang(kept.pid(), "the restartable actor's pid"));
      if (restarted) expect(keptHost).not.toBe(victim);
      if (tk.correct < CALLS) expect(restarted, "calls failed: the actor must have restarted").toBe(true);
      const mortalLost = td.correct < CALLS;
      const next = await noHang(track(mortal.get()), "the mortal actor after the fault");
      if (mortalLost) {
        expect(next.ok).toBe(false);
        expect(next.ok ? undefined : next.error).toBeInstanceOf(ActorDiedError);
      } else {
        expect(next.ok && next.value).toBe(CALLS);
      }
      expect(await noHang(bystander.get(), "the bystander")).toBe(CALLS);
      const settled: Settled<unknown>[] = [...k, ...d, ...b];
      const firstErrorAt = Math.min(tk.firstErrorAt ?? Infinity, td.firstErrorAt ?? Infinity);
      const outcome = `maxRestarts 1 + checkpoint: ${describeTally(tk, CALLS)}, ${restarted ? `restarted on host ${keptHost} with its checkpoint (total ${total})` : "never lost"}; ` +
        `maxRestarts 0: ${describeTally(td, CALLS)}${mortalLost ? ", then ActorDiedError" : ""}; bystander on another host: ${describeTally(tb, CALLS)}`;
      await Promise.all([kept.kill(), mortal.kill(), bystander.kill()]);
      return { outcome, detectMs: since(t0, Number.isFinite(firstErrorAt) ? firstErrorAt : undefined), settleMs: Math.max(...settled.map((x) => x.at)) - t0 };
    },
  };
};

export const ACTOR_CELL: readonly [string, Workload] = ["actors with calls in their mailboxes", actorCalls];
