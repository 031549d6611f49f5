import type { PendingCall } from "../../src/driver/calls/call.ts";
import type { FakeRunner } from "./fake-runner.ts";

// The placement rules as the scheduler applied them before its heaps: every runner looked
// at, in join order. The reference the heaps must agree with (scheduler-heap.test.ts).

/** The runner with the most free threads among those with room (not `avoid`, unless it alone is live). */
export function scanPick(runners: readonly FakeRunner[], avoid?: FakeRunner): FakeRunner | undefined {
  if (avoid !== undefined && !runners.some((r) => r !== avoid && r.usable)) return runners.includes(avoid) && avoid.hasRoom ? avoid : undefined;
  let best: FakeRunner | undefined;
  let bestFree = -Infinity;
  for (const r of runners) {
    if (!r.hasRoom || r === avoid) continue;
    const free = r.threads - r.inFlight;
    if (free > bestFree) {
      best = r;
      bestFree = free;
    }
  }
  return best;
}

/** The runner where a call with object inputs could start soonest (200 µs a fetch, 1 GB/s). */
export function scanPlace(runners: readonly FakeRunner[], call: PendingCall, avoid?: FakeRunner): FakeRunner | undefined {
  const skip = avoid !== undefined && runners.some((r) => r !== avoid && r.usable) ? avoid : undefined;
  let best: FakeRunner | undefined;
  let bestCost = Infinity;
  for (const r of runners) {
    if (!r.hasRoom || r === skip) continue;
    let cost = (Math.max(0, r.inFlight + 1 - r.threads) * r.execMicros) / r.threads;
    let missing = -1;
    for (const d of call.deps) if (d.inline === undefined && !d.holdsOn(r)) missing += d.bytes + 1;
    if (missing >= 0) cost += 200 + missing / 1000;
    if (cost < bestCost || (cost === bestCost && best !== undefined && r.inFlight < best.inFlight)) {
      best = r;
      bestCost = cost;
    }
  }
  return best;
}

/** The usable runner with the fewest calls in flight per thread. */
export function scanLeastLoaded(runners: readonly FakeRunner[]): FakeRunner | undefined {
  let best: FakeRunner | undefined;
  for (const r of runners) if (r.usable && (best === undefined || r.inFlight / r.threads < best.inFlight / best.threads)) best = r;
  return best;
}
