import { describe, expect, it } from "vitest";
import { actorFields, MAX_ACTORS_REPORTED } from "../../src/runner/activity/feed.ts";
import { ActorGauges } from "../../src/runner/metrics/actor-gauges.ts";
import { MAX_CLASSES } from "../../src/protocol/metrics/catalogue.ts";
import type { ActorStat } from "../../src/protocol/messages.ts";

// What a runner says of its actors: in its activity (the busiest, bounded, with whole counts)
// and in its metrics (gauges by class, bounded classes).

const actor = (i: number, o: Partial<ActorStat> = {}): ActorStat => ({
  id: `d.a${i}`, className: "Counter", name: null, owner: "d", thread: 1, port: 9000, hash: "h", mailbox: 0, running: 0, calls: 0, incarnation: 0, detached: false, ...o,
});

describe("a runner's actor reports", () => {
  it("an activity lists every actor while there are few", () => {
    const all = [actor(1, { mailbox: 1 }), actor(2)];
    expect(actorFields(all)).toEqual({ actors: all, actorCount: 2, actorMailbox: 1 });
    expect(actorFields([])).toEqual({ actors: [], actorCount: 0, actorMailbox: 0 });
  });

  it("an activity lists the busiest actors only, deepest mailboxes first, and counts them all", () => {
    const all = Array.from({ length: 10_000 }, (_, i) => actor(i, { mailbox: i % 7 === 0 ? 3 : 0, running: i % 11 === 0 ? 1 : 0, calls: i % 13 }));
    const f = actorFields(all);
    expect(f.actors).toHaveLength(MAX_ACTORS_REPORTED);
    expect(f.actorCount).toBe(10_000);
    expect(f.actorMailbox).toBe(3 * Math.ceil(10_000 / 7));
    expect(f.actors!.every((a) => a.mailbox === 3)).toBe(true);
    // Among equals, those running first, then those called most.
    expect(f.actors![0]).toMatchObject({ mailbox: 3, running: 1 });
    const depths = f.actors!.map((a) => [a.mailbox, a.running, a.calls]);
    expect(depths).toEqual([...depths].sort((x, y) => y[0]! - x[0]! || y[1]! - x[1]! || y[2]! - x[2]!));
  });

  it("gauges by class keep a class at zero once its actors are gone, and fold classes beyond the bound", () => {
    const g = new ActorGauges();
    expect(g.read([actor(1, { mailbox: 2, running: 1 }), actor(2, { mailbox: 1 }), actor(3, { className: "Store" })])).toEqual({
      actors: { Counter: 2, Store: 1 }, mailbox: { Counter: 3, Store: 0 }, running: { Counter: 1, Store: 0 }, known: ["Counter", "Store"],
    });
    expect(g.read([actor(3, { className: "Store" })])).toEqual({ actors: { Store: 1 }, mailbox: { Store: 0 }, running: { Store: 0 }, known: ["Counter", "Store"] });
    const many = Array.from({ length: MAX_CLASSES + 10 }, (_, i) => actor(i, { className: `C${i}` }));
    const v = g.read(many);
    expect(v.known).toHaveLength(MAX_CLASSES + 1);
    expect(v.actors.other).toBe(12); // 2 of the first 64 names went to Counter and Store
    expect(Object.values(v.actors).reduce((s, n) => s + n, 0)).toBe(MAX_CLASSES + 10);
  });
});
