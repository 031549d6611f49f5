import { describe, expect, it } from "vitest";
import { Membership } from "../../src/head/membership.ts";
import type { Member, MembersChange } from "../../src/protocol/messages.ts";
import { Backoff } from "../../src/transport/backoff.ts";

const member = (address: string, id = `id-${address}`): Member => ({ address, id, threads: 1, pid: 1, hostname: "h", metrics: null, tags: [] });

function recorder(): { heard: [MembersChange, string[]][]; listen: (c: MembersChange, ms: Member[]) => void } {
  const heard: [MembersChange, string[]][] = [];
  return { heard, listen: (c, ms) => heard.push([c, ms.map((m) => `${m.address}/${m.id}`)]) };
}

describe("a head's membership", () => {
  it("a subscriber hears the whole set first, then each join and each goodbye or loss", () => {
    const m = new Membership<string>();
    m.join(member("a:1"), "conn-a");
    const r = recorder();
    m.subscribe(r.listen);
    m.join(member("b:1"), "conn-b");
    m.remove("conn-a", "left");
    m.remove("conn-b", "lost");
    expect(r.heard).toEqual([["all", ["a:1/id-a:1"]], ["joined", ["b:1/id-b:1"]], ["left", ["a:1/id-a:1"]], ["lost", ["b:1/id-b:1"]]]);
    expect(m.size).toBe(0);
  });

  it("a runner restarted on its address replaces the old entry; the old connection closing later removes nothing", () => {
    const m = new Membership<string>();
    const r = recorder();
    m.subscribe(r.listen);
    m.join(member("a:1", "first"), "old-conn");
    m.join(member("a:1", "second"), "new-conn");
    expect(m.remove("old-conn", "lost")).toBeUndefined();
    expect(m.snapshot().map((x) => x.id)).toEqual(["second"]);
    expect(r.heard).toEqual([["all", []], ["joined", ["a:1/first"]], ["joined", ["a:1/second"]]]);
  });

  it("the same registration twice (a repeated Join) is told once; a stopped subscriber hears nothing more", () => {
    const m = new Membership<string>();
    const r = recorder();
    const stop = m.subscribe(r.listen);
    m.join(member("a:1"), "c");
    m.join(member("a:1"), "c");
    stop();
    m.join(member("b:1"), "d");
    expect(r.heard).toEqual([["all", []], ["joined", ["a:1/id-a:1"]]]);
  });
});

describe("backoff", () => {
  it("doubles up to its bound, with at most 20% jitter either way, and starts over after reset", () => {
    const b = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000 });
    const waits = Array.from({ length: 6 }, () => b.next());
    const nominal = [100, 200, 400, 800, 1000, 1000];
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(nominal[i]! * 0.8);
      expect(w).toBeLessThanOrEqual(nominal[i]! * 1.2);
    });
    b.reset();
    expect(b.next()).toBeLessThanOrEqual(120);
    expect(() => new Backoff({ initialDelayMs: 0 })).toThrow(TypeError);
    expect(() => new Backoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(TypeError);
  });
});
