import { describe, expect, it } from "vitest";
import { ActorNames } from "../../src/runner/actors/actor-names.ts";
import { ActorExistsError } from "../../src/index.ts";

describe("actor names on a runner", () => {
  it("a name is taken once: a second take fails with ActorExistsError naming the holder", () => {
    const n = new ActorNames();
    n.take("svc", "d.a1");
    expect(n.holder("svc")).toBe("d.a1");
    let err: unknown;
    try {
      n.take("svc", "e.a1");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ActorExistsError);
    expect((err as Error).message).toContain("d.a1");
    expect(n.holder("svc")).toBe("d.a1");
    n.take("other", "e.a1");
    expect(n.holder("other")).toBe("e.a1");
  });

  it("a failed spawn frees its name", () => {
    const n = new ActorNames();
    n.take("svc", "d.a1");
    n.free("d.a1");
    expect(n.holder("svc")).toBeUndefined();
    n.take("svc", "d.a2");
    expect(n.holder("svc")).toBe("d.a2");
  });

  it("freeing an actor that lost its name to no one, or that never had one, changes nothing", () => {
    const n = new ActorNames();
    n.take("svc", "d.a1");
    n.free("d.a9");
    n.free("d.a1");
    n.free("d.a1");
    expect(n.holder("svc")).toBeUndefined();
  });

  it("an actor gone from its thread frees its name; one born there keeps it", () => {
    const n = new ActorNames();
    n.take("a", "d.a1");
    n.take("b", "d.a2");
    n.changed(3, ["d.a1", "d.a2"], []);
    n.changed(3, [], ["d.a1"]);
    expect(n.holder("a")).toBeUndefined();
    expect(n.holder("b")).toBe("d.a2");
  });

  it("a thread that dies frees the names of every actor on it, and only those", () => {
    const n = new ActorNames();
    n.take("a", "d.a1");
    n.take("b", "d.a2");
    n.take("c", "d.a3");
    n.changed(1, ["d.a1", "d.a2"], []);
    n.changed(2, ["d.a3"], []);
    n.threadGone(1);
    expect(n.holder("a")).toBeUndefined();
    expect(n.holder("b")).toBeUndefined();
    expect(n.holder("c")).toBe("d.a3");
    n.threadGone(1); // twice: nothing more
    expect(n.holder("c")).toBe("d.a3");
  });

  it("a name freed and taken again is not freed by its old holder leaving later", () => {
    const n = new ActorNames();
    n.take("svc", "d.a1");
    n.changed(1, ["d.a1"], []);
    n.free("d.a1"); // its spawn's answer failed, say
    n.take("svc", "d.a2");
    n.changed(1, [], ["d.a1"]); // the thread reports the old one gone, late
    expect(n.holder("svc")).toBe("d.a2");
  });
});
