import { describe, expect, it } from "vitest";
import type { ChanPeer } from "../../src/channels/channel-home.ts";
import { ChannelBrokenError } from "../../src/errors.ts";
import { Home, value } from "./channel-ops.ts";
import { FakeRunner } from "./fake-runner.ts";

// A runner's sender may fill free slots without a round trip each, against credits: the
// slots are the buffer's, so no more than `capacity` values are ever in it or on their way.
describe("channel home: send credits", () => {
  it("grants no more than the free slots, counting those already promised", () => {
    const h = new Home();
    const ch = h.chan(5);
    h.send(ch, 0);
    const [p, q] = [new FakeRunner(), new FakeRunner()];
    expect(h.home.grant(ch, p, 3)).toBe(3);
    expect(h.home.grant(ch, q, 32)).toBe(1);
    expect(h.home.grant(ch, q, 32)).toBe(0);
    expect(h.stats(ch)).toMatchObject({ buffered: 1, reserved: 4 });
  });

  it("grants none to a peer that cannot be asked to give them back, nor on a closed channel", () => {
    const h = new Home();
    const ch = h.chan(4);
    const mute: ChanPeer = { address: "mute", reply: () => {}, take: () => Promise.reject(new Error("none")) };
    expect(h.home.grant(ch, mute, 4)).toBe(0);
    h.home.close(ch);
    expect(h.home.grant(ch, new FakeRunner(), 4)).toBe(0);
  });

  it("grants none while a sender waits: the slots are owed to it", () => {
    const h = new Home();
    const ch = h.chan(1);
    h.send(ch, 1);
    h.send(ch, 2);
    h.recv(ch); // the waiting sender's value takes the freed slot
    h.send(ch, 3);
    expect(h.stats(ch)!.waitingSenders).toBe(1);
    expect(h.home.grant(ch, new FakeRunner(), 4)).toBe(0);
  });

  it("puts a credited value in its promised slot, or hands it to a waiting receiver", () => {
    const h = new Home();
    const ch = h.chan(2);
    const peer = new FakeRunner();
    h.home.grant(ch, peer, 2);
    const r = h.recv(ch);
    h.home.credited(ch, peer, value(4));
    expect(r.received).toBe(4);
    h.home.credited(ch, peer, value(5));
    expect(h.stats(ch)).toMatchObject({ buffered: 1, reserved: 0 });
    expect(h.recv(ch).received).toBe(5);
  });

  it("breaks on a value sent without a credit", () => {
    const h = new Home();
    const ch = h.chan(2);
    const peer = new FakeRunner();
    expect(() => h.home.credited(ch, peer, value(1))).toThrow(ChannelBrokenError);
  });

  it("asks for credits back when a sender has to wait for slots they hold", () => {
    const h = new Home();
    const ch = h.chan(2);
    const [holder, spent] = [new FakeRunner(), new FakeRunner()];
    h.home.grant(ch, holder, 1);
    h.home.grant(ch, spent, 1);
    h.home.credited(ch, spent, value(1));
    const local = h.send(ch, 9);
    expect(local.finished).toBe(false);
    expect(holder.revoked).toEqual([ch]);
    expect(spent.revoked).toEqual([]);
    h.home.returned(ch, holder, 1);
    expect(local.finished).toBe(true);
    expect(h.stats(ch)).toMatchObject({ buffered: 2, reserved: 0, waitingSenders: 0 });
  });

  it("takes back no more credits than a peer holds", () => {
    const h = new Home();
    const ch = h.chan(3);
    const peer = new FakeRunner();
    h.home.grant(ch, peer, 1);
    h.home.returned(ch, peer, 5);
    expect(h.stats(ch)!.reserved).toBe(0);
    expect(h.home.grant(ch, peer, 5)).toBe(3);
  });

  it("on close, keeps receivers waiting for credited values still on their way", () => {
    const h = new Home();
    const ch = h.chan(2);
    const peer = new FakeRunner();
    h.home.grant(ch, peer, 2);
    const r = h.recv(ch);
    h.home.close(ch);
    expect(peer.revoked).toEqual([ch]);
    expect(r.finished).toBe(false);
    h.home.credited(ch, peer, value(6));
    expect(r.received).toBe(6);
    const late = h.recv(ch);
    expect(late.finished).toBe(false);
    h.home.returned(ch, peer, 1);
    expect(late.received).toBe("done");
  });
});
