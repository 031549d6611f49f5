import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TimeoutError } from "../../src/errors.ts";
import { Home, recv } from "./channel-ops.ts";

// A select with a timeout fails with TimeoutError once it has waited that long, and leaves
// every channel it waited on. Time here is vitest's fake clock, never a sleep.
describe("channel home: timeouts", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fails a waiting select when its time is up, not before", () => {
    const h = new Home();
    const [a, b] = [h.chan(), h.chan()];
    const s = h.select([recv(a), recv(b)], { timeoutMs: 100 });
    vi.advanceTimersByTime(99);
    expect(s.finished).toBe(false);
    vi.advanceTimersByTime(1);
    expect(s.error).toBeInstanceOf(TimeoutError);
    expect(h.stats(a)!.waitingReceivers + h.stats(b)!.waitingReceivers).toBe(0);
    expect(h.send(a, 1).finished).toBe(false); // nobody receives any more
  });

  it("stops the clock when a case becomes ready in time", () => {
    const h = new Home();
    const ch = h.chan();
    const s = h.select([recv(ch)], { timeoutMs: 100 });
    vi.advanceTimersByTime(50);
    h.send(ch, 3);
    expect(s.received).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(s.received).toBe(3);
  });

  it("sets no clock when it need not wait", () => {
    const h = new Home();
    const ch = h.chan(1);
    h.send(ch, 1);
    expect(h.select([recv(ch)], { timeoutMs: 100 }).received).toBe(1);
    expect(h.select([recv(ch)], { timeoutMs: 100, dflt: true }).index).toBe(-1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stops the clock when the select is withdrawn", () => {
    const h = new Home();
    const s = h.select([recv(h.chan())], { timeoutMs: 100 });
    s.withdraw();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(200);
    expect(s.finished).toBe(false);
  });
});
