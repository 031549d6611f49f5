import { describe, expect, it } from "vitest";
import { ChannelClosedError } from "../../src/errors.ts";
import { Home, recv } from "./channel-ops.ts";

// Go's close: receivers get what was buffered, then "done"; senders fail.
describe("channel home: close", () => {
  it("wakes every blocked receiver with done", () => {
    const h = new Home();
    const ch = h.chan();
    const receivers = [h.recv(ch), h.recv(ch), h.select([recv(h.chan()), recv(ch)])];
    h.home.close(ch);
    expect(receivers.map((r) => r.received)).toEqual(["done", "done", "done"]);
    expect(receivers[2]!.index).toBe(1);
  });

  it("fails every blocked sender", () => {
    const h = new Home();
    const ch = h.chan();
    const senders = [h.send(ch, 1), h.send(ch, 2)];
    h.home.close(ch);
    for (const s of senders) expect(s.error).toBeInstanceOf(ChannelClosedError);
  });

  it("leaves buffered values to be received, in order, before done", () => {
    const h = new Home();
    const ch = h.chan(3);
    h.send(ch, 1);
    h.send(ch, 2);
    h.home.close(ch);
    expect([h.recv(ch).received, h.recv(ch).received, h.recv(ch).received, h.recv(ch).received]).toEqual([1, 2, "done", "done"]);
  });

  it("refuses a send on a closed channel, and a second close", () => {
    const h = new Home();
    const ch = h.chan(5);
    h.send(ch, 1); // keeps it from being retired: the live state answers
    h.home.close(ch);
    expect(h.send(ch, 2).error).toBeInstanceOf(ChannelClosedError);
    expect(() => h.home.close(ch)).toThrow(ChannelClosedError);
  });

  it("keeps Go's answers for a channel closed and drained, after dropping its state", () => {
    const h = new Home();
    const ch = h.chan(1);
    h.send(ch, 1);
    h.home.close(ch);
    h.recv(ch);
    expect(h.stats(ch)).toBeUndefined(); // retired: only its id is kept
    expect(h.home.has(ch)).toBe(true);
    expect(h.recv(ch).received).toBe("done");
    expect(h.send(ch, 2).error).toBeInstanceOf(ChannelClosedError);
    expect(() => h.home.close(ch)).toThrow(ChannelClosedError);
  });
});
