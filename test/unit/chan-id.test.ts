import { describe, expect, it } from "vitest";
import { homeOf, isThreadChan, threadHome } from "../../src/protocol/chan-id.ts";

describe("channel ids say where the channel's home is", () => {
  it("a driver's channel: its prefix", () => {
    expect(homeOf("d1a2b3.c7")).toEqual({ kind: "driver", home: "d1a2b3" });
    expect(isThreadChan("d1a2b3.c7")).toBe(false);
  });

  it("a runner thread's channel: its lane's host and port, and the thread's nonce", () => {
    const id = `${threadHome("10.0.0.5:41234", "9f3a")}.c12`;
    expect(id).toBe("@10.0.0.5:41234/9f3a.c12");
    expect(isThreadChan(id)).toBe(true);
    expect(homeOf(id)).toEqual({ kind: "thread", home: "@10.0.0.5:41234/9f3a", host: "10.0.0.5", port: 41234, nonce: "9f3a" });
  });

  it("IPv6 hosts are bracketed in the id and bare in the parse; host names work", () => {
    expect(homeOf("@[::1]:7000/ab.c1")).toMatchObject({ host: "::1", port: 7000 });
    expect(homeOf("@node-3.cluster:7000/ab.c1")).toMatchObject({ host: "node-3.cluster", port: 7000 });
  });

  it("anything else is no channel id", () => {
    for (const bad of ["", "x", "d.c", "d.c0", "d.c01", "d.cx", "@h:1/ab", "@h/ab.c1", "@h:0/ab.c1", "@h:70000/ab.c1", "@:1/ab.c1", "@h:1/AB.c1", "@h:1/.c1", "a/b.c1"]) {
      expect(homeOf(bad), bad).toBeUndefined();
    }
  });
});
