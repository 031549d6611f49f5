import { NoRunnersError } from "../../errors.ts";
import type { ActorRunner } from "./actor-runner.ts";

/**
 * Where a new actor goes: the runner asked for, else the usable runner with the fewest of this
 * driver's actors per thread (ties: the earliest listed), avoiding `avoid` (where the last
 * incarnation died, or a spawn was lost) while another runner is usable. The runner asked for
 * is avoided too: its actor's thread can be seen gone before its main link is, while the
 * runner still looks usable, and a restart sent there would die with it.
 * Pure (test/unit/actor-placement.test.ts).
 */
export function placeActor(runners: readonly ActorRunner[], asked: string | undefined, avoid: string | undefined, actorsOn: (r: ActorRunner) => number): ActorRunner {
  const usable = runners.filter((r) => r.usable);
  if (asked !== undefined && asked !== avoid) {
    const r = usable.find((x) => x.address === asked);
    if (r !== undefined) return r;
    // Asked for and gone: a restart goes elsewhere rather than nowhere.
    if (avoid === undefined) throw new TypeError(`spawn: runner ${asked} is not a usable runner of this cluster (${runners.map((x) => x.address).join(", ") || "none"})`);
  }
  const candidates = usable.filter((r) => r.address !== avoid);
  const pool = candidates.length > 0 ? candidates : usable;
  let best: ActorRunner | undefined;
  let bestLoad = Infinity;
  for (const r of pool) {
    const load = actorsOn(r) / r.threads;
    if (load < bestLoad) {
      best = r;
      bestLoad = load;
    }
  }
  if (best === undefined) throw new NoRunnersError("spawn", 0);
  return best;
}
