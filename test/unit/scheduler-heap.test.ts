import { describe, expect, it } from "vitest";
import type { PendingCall } from "../../src/driver/calls/call.ts";
import { makeCall } from "./fake-call.ts";
import { FakeCluster, nextTurn, type TestObject } from "./fake-cluster.ts";
import type { FakeRunner, FakeRunnerOptions } from "./fake-runner.ts";
import { scanLeastLoaded, scanPick, scanPlace } from "./scan-placement.ts";
import { seededRandom as random } from "../seeded-random.ts";


// The heaps find what a scan of every runner found, whatever happened before: sends the
// scheduler made and sends it was not told of (SPMD ranks go straight down the link),
// windows growing and shrinking, run times changing, runners stopping, dying and joining.
// Each placement is checked against the scan, on the runners' state at that moment.
describe("scheduler: its heaps place as a scan of every runner did", () => {
  it.each(Array.from({ length: 12 }, (_, i) => i + 1))("seed %i", async (seed) => {
    const rnd = random(seed);
    const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
    const pickOf = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const options = (): FakeRunnerOptions => ({ threads: int(1, 4), window: int(1, 6), execMicros: pickOf([100, 1000, 1000, 5000]) });
    const c = new FakeCluster(...Array.from({ length: int(2, 6) }, options));
    const runners: FakeRunner[] = [...c.runners]; // join order, the dead included (they are never picked)
    const objects: TestObject[] = [];
    let checked = 0;
    let n = 0;
    const expectAt = (call: PendingCall, want: FakeRunner | undefined, what: string): void => {
      expect(call.link === undefined ? "(queued)" : (call.link as FakeRunner).address, `${what} at step ${n}`).toBe(want?.address ?? "(queued)");
      checked++;
    };

    for (; n < 500; n++) {
      const live = runners.filter((r) => r.usable);
      const op = rnd();
      const idle = c.scheduler.queued === 0;
      if (op < 0.2 && idle) {
        const want = scanPick(runners);
        const x = c.call(`plain${n}`);
        expectAt(x.call, want, "plain call");
      } else if (op < 0.27) {
        const want = scanLeastLoaded(runners);
        if (want === undefined) continue;
        const x = c.call(`go${n}`, { goroutine: true });
        expectAt(x.call, want, "goroutine");
      } else if (op < 0.42 && idle && live.length > 0) {
        // Inputs of every size, on one runner or several.
        while (objects.length < 6) {
          const o = c.put(pickOf(live), pickOf([10, 100_000, 5_000_000, 50_000_000]));
          for (let k = int(0, 2); k > 0; k--) o.entry.holders.add(pickOf(runners));
          objects.push(o);
        }
        const deps = Array.from({ length: int(1, 3) }, () => pickOf(objects).entry).filter((d) => d.available);
        if (deps.length === 0) continue;
        const x = c.call(`graph${n}`, { deps });
        const want = scanPlace(runners, x.call);
        await nextTurn();
        expectAt(x.call, want, "graph call");
      } else if (op < 0.5 && idle && runners.length > 1) {
        // Sent again after a loss on `avoid`: elsewhere while another runner is live.
        const avoid = pickOf(runners);
        const withDeps = rnd() < 0.5 && objects.some((o) => o.entry.available);
        const call = makeCall(`again${n}`, withDeps ? { deps: [objects.find((o) => o.entry.available)!.entry] } : {}).call;
        call.attempts = 1;
        call.avoid = avoid;
        const want = withDeps ? scanPlace(runners, call, avoid) : scanPick(runners, avoid);
        c.scheduler.resubmit(call);
        expectAt(call, want, "resent call");
      } else if (op < 0.75) {
        const busy = runners.filter((r) => r.running.length > 0);
        if (busy.length === 0) continue;
        const r = pickOf(busy);
        r.resolve(pickOf(r.running), n); // frees a slot: queued calls may go
      } else if (op < 0.83 && live.length > 0) {
        // A send the scheduler is not told of (an SPMD rank goes straight down the link).
        pickOf(live).send(makeCall(`direct${n}`, { goroutine: rnd() < 0.5 }).call);
      } else if (op < 0.9 && runners.length > 0) {
        const r = pickOf(runners);
        if (rnd() < 0.5) r.window = int(1, 8);
        else r.execMicros = pickOf([50, 1000, 20_000]);
        c.scheduler.slotFreed(r); // as a real link tells it, after a result
      } else if (op < 0.93 && live.length > 1) {
        pickOf(live).draining = true; // starts stopping: not told until its next result
      } else if (op < 0.95 && live.length > 1) {
        pickOf(live).lose();
        await nextTurn(); // lost calls go again
      } else if (op < 0.98) {
        runners.push(c.join(options()));
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
