import { describe, expect, it } from "vitest";
import { Home } from "./channel-ops.ts";

// A channel holds at most `capacity` values; beyond that senders wait (backpressure), and
// everything is first in, first out.
describe("channel home: buffer and backpressure", () => {
  it("unbuffered: a send waits for a receiver and hands its value straight over", () => {
    const h = new Home();
    const ch = h.chan();
    const s = h.send(ch, 7);
    expect(s.finished).toBe(false);
    expect(h.stats(ch)!.waitingSenders).toBe(1);
    const r = h.recv(ch);
    expect(r.received).toBe(7);
    expect(s.index).toBe(0);
    expect(h.stats(ch)!.buffered).toBe(0);
  });

  it("unbuffered: a waiting receiver takes the next send", () => {
    const h = new Home();
    const ch = h.chan();
    const r = h.recv(ch);
    expect(r.finished).toBe(false);
    expect(h.send(ch, 3).index).toBe(0);
    expect(r.received).toBe(3);
  });

  it("serves blocked senders and receivers first come, first served", () => {
    const h = new Home();
    const ch = h.chan();
    const senders = [1, 2, 3].map((n) => h.send(ch, n));
    expect([h.recv(ch).received, h.recv(ch).received, h.recv(ch).received]).toEqual([1, 2, 3]);
    expect(senders.every((s) => s.finished)).toBe(true);
    const receivers = [h.recv(ch), h.recv(ch)];
    h.send(ch, 8);
    expect(receivers.map((r) => r.finished)).toEqual([true, false]);
    expect(receivers[0]!.received).toBe(8);
  });

  it("buffered: sends finish at once up to the capacity, then wait", () => {
    const h = new Home();
    const ch = h.chan(2);
    const sends = [1, 2, 3, 4].map((n) => h.send(ch, n));
    expect(sends.map((s) => s.finished)).toEqual([true, true, false, false]);
    expect(h.stats(ch)).toMatchObject({ buffered: 2, waitingSenders: 2 });
  });

  it("buffered: a receive frees a slot for the first waiting sender, and order holds", () => {
    const h = new Home();
    const ch = h.chan(2);
    const sends = [1, 2, 3, 4].map((n) => h.send(ch, n));
    expect(h.recv(ch).received).toBe(1);
    expect(sends.map((s) => s.finished)).toEqual([true, true, true, false]);
    expect(h.stats(ch)!.buffered).toBe(2);
    expect([h.recv(ch).received, h.recv(ch).received, h.recv(ch).received]).toEqual([2, 3, 4]);
    expect(h.recv(ch).finished).toBe(false);
  });

  it("refuses a capacity that is not a whole number", () => {
    const h = new Home();
    for (const bad of [-1, 1.5, Number.NaN]) expect(() => h.home.create("d.c99", bad)).toThrow(RangeError);
  });
});
