import { describe, expect, it } from "vitest";
import { placeActor } from "../../src/driver/actors/placement.ts";
import type { ActorRunner } from "../../src/driver/actors/actor-runner.ts";
import { NoRunnersError } from "../../src/index.ts";

/** A runner as placement sees it: placement reads only these fields (the rest must not be touched). */
function runner(address: string, threads = 1, usable = true): ActorRunner {
  const never = (): never => {
    throw new Error("placement must not send or ask");
  };
  return { address, threads, usable, alive: usable, send: never, sendToActor: never, stats: never, fetch: never };
}

const counts = (m: Record<string, number>) => (r: ActorRunner): number => m[r.address] ?? 0;

describe("actor placement", () => {
  const [a, b, c] = [runner("a:1"), runner("b:1"), runner("c:1")];

  it("puts a new actor on the runner with the fewest actors per thread; ties go to the earliest listed", () => {
    expect(placeActor([a, b, c], undefined, undefined, counts({})).address).toBe("a:1");
    expect(placeActor([a, b, c], undefined, undefined, counts({ "a:1": 1 })).address).toBe("b:1");
    expect(placeActor([a, b, c], undefined, undefined, counts({ "a:1": 2, "b:1": 1, "c:1": 1 })).address).toBe("b:1");
    // Per thread: 3 actors on 4 threads are fewer than 1 on 1.
    const big = runner("big:1", 4);
    expect(placeActor([a, big], undefined, undefined, counts({ "a:1": 1, "big:1": 3 })).address).toBe("big:1");
  });

  it("skips runners that are not usable (lost, draining)", () => {
    const down = runner("down:1", 8, false);
    expect(placeActor([down, a], undefined, undefined, counts({ "a:1": 5 })).address).toBe("a:1");
  });

  it("takes the runner asked for, however loaded", () => {
    expect(placeActor([a, b], "b:1", undefined, counts({ "b:1": 9 })).address).toBe("b:1");
  });

  it("refuses a runner asked for that is not usable, for a first spawn", () => {
    expect(() => placeActor([a, runner("b:1", 1, false)], "b:1", undefined, counts({}))).toThrow(TypeError);
    expect(() => placeActor([a], "nowhere:1", undefined, counts({}))).toThrow(/not a usable runner/);
  });

  it("a restart avoids the runner its last incarnation died on, even when it looks the emptiest", () => {
    expect(placeActor([a, b], undefined, "a:1", counts({ "b:1": 5 })).address).toBe("b:1");
  });

  it("a restart of an actor asked onto a runner goes elsewhere when that runner died, or is not usable any more", () => {
    // Its thread was seen gone before its runner's main link: the runner still looks usable.
    expect(placeActor([a, b], "a:1", "a:1", counts({})).address).toBe("b:1");
    expect(placeActor([runner("a:1", 1, false), b], "a:1", "c:1", counts({})).address).toBe("b:1");
  });

  it("goes back to the avoided runner when it is the only usable one", () => {
    expect(placeActor([a, runner("b:1", 1, false)], undefined, "a:1", counts({})).address).toBe("a:1");
  });

  it("fails with NoRunnersError when no runner is usable", () => {
    expect(() => placeActor([runner("a:1", 1, false)], undefined, undefined, counts({}))).toThrow(NoRunnersError);
    expect(() => placeActor([], undefined, "a:1", counts({}))).toThrow(NoRunnersError);
  });
});
