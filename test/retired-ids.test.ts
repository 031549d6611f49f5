import { describe, expect, it } from "vitest";
import { RetiredIds } from "../src/channels/retired-ids.ts";

describe("retired channel ids", () => {
  it("answers like a set, but holds only the ids retired ahead of an older open channel", () => {
    const r = new RetiredIds("drv.c");
    for (const n of [2, 3, 5]) r.add(`drv.c${n}`);
    expect(r.held).toBe(3); // c1 is still open
    expect([1, 2, 3, 4, 5, 6].map((n) => r.has(`drv.c${n}`))).toEqual([false, true, true, false, true, false]);
    r.add("drv.c1");
    expect(r.held).toBe(1); // 1..3 under the watermark; 5 waits for 4
    r.add("drv.c4");
    expect(r.held).toBe(0);
    expect([1, 2, 3, 4, 5, 6].map((n) => r.has(`drv.c${n}`))).toEqual([true, true, true, true, true, false]);
    r.add("drv.c2"); // again: no change
    expect(r.held).toBe(0);
  });

  it("a million channels retired in order hold nothing one by one", () => {
    const r = new RetiredIds("drv.c");
    for (let n = 1; n <= 1_000_000; n++) r.add(`drv.c${n}`);
    expect(r.held).toBe(0);
    expect(r.has("drv.c999999")).toBe(true);
    expect(r.has("drv.c1000001")).toBe(false);
  });

  it("ids of another form are kept as they are, and never confused with numbered ones", () => {
    const r = new RetiredIds("drv.c");
    for (const id of ["other.c1", "drv.c01", "drv.cx", "drv.c"]) r.add(id);
    expect(r.held).toBe(4);
    expect(r.has("other.c1")).toBe(true);
    expect(r.has("drv.c1")).toBe(false);
    expect(r.has("drv.c01")).toBe(true);
  });
});
