import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHeartbeat, type HeartbeatConnection } from "../../src/protocol/heartbeat.ts";

// A heartbeat goes out only in an interval that sent nothing else (any frame tells the peer we
// live), and silence is judged from what arrived, whatever we sent.
class FakeConnection implements HeartbeatConnection {
  framesSent = 0;
  lastReceived = performance.now();
  readonly frames: (readonly Uint8Array[])[] = [];
  send(segments: readonly Uint8Array[]): void {
    this.framesSent++;
    this.frames.push(segments);
  }
  heartbeats(): number {
    return this.frames.filter((f) => f !== CALL).length;
  }
}
const CALL: readonly Uint8Array[] = [new Uint8Array([1, 2, 3])];
const opts = { intervalMs: 250, timeoutMs: 1500 };

describe("heartbeats", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] }));
  afterEach(() => vi.useRealTimers());

  it("an idle link beats every interval", () => {
    const conn = new FakeConnection();
    const stop = startHeartbeat(conn, opts, () => {});
    for (let i = 0; i < 4; i++) {
      conn.lastReceived = performance.now();
      vi.advanceTimersByTime(250);
    }
    expect(conn.heartbeats()).toBe(4);
    stop();
  });

  it("an interval that sent another frame sends no heartbeat; the next idle one does", () => {
    const conn = new FakeConnection();
    const stop = startHeartbeat(conn, opts, () => {});
    conn.send(CALL);
    vi.advanceTimersByTime(250);
    expect(conn.heartbeats()).toBe(0);
    conn.send(CALL);
    vi.advanceTimersByTime(250);
    expect(conn.heartbeats()).toBe(0);
    vi.advanceTimersByTime(250);
    expect(conn.heartbeats()).toBe(1);
    vi.advanceTimersByTime(250); // its own heartbeat is not traffic that excuses the next
    expect(conn.heartbeats()).toBe(2);
    stop();
  });

  it("silence is judged from what arrived, even while we send", () => {
    const conn = new FakeConnection();
    const silent: number[] = [];
    const stop = startHeartbeat(conn, opts, (ms) => silent.push(ms));
    for (let i = 0; i < 7; i++) {
      conn.send(CALL);
      vi.advanceTimersByTime(250);
    }
    expect(silent.length).toBe(1);
    expect(silent[0]).toBeGreaterThan(1500);
    stop();
  });

  it("stops", () => {
    const conn = new FakeConnection();
    startHeartbeat(conn, opts, () => {})();
    vi.advanceTimersByTime(1000);
    expect(conn.frames.length).toBe(0);
  });
});
