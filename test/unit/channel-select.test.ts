import { describe, expect, it } from "vitest";
import { Home, recv, send } from "./channel-ops.ts";

// Go's select: of the cases ready, exactly one runs, chosen uniformly; with none ready it
// waits for the first to become ready (or runs its default).
describe("channel home: select", () => {
  it("runs exactly one of several ready cases", () => {
    const h = new Home();
    const [a, b] = [h.chan(1), h.chan(1)];
    h.send(a, 1);
    h.send(b, 2);
    const s = h.select([recv(a), recv(b)]);
    expect(s.received).toBe(s.index === 0 ? 1 : 2);
    expect([h.stats(a)!.buffered, h.stats(b)!.buffered].sort()).toEqual([0, 1]);
  });

  it("runs one case of a mix of ready sends and receives, and only that one", () => {
    const h = new Home();
    const [out, inp] = [h.chan(1), h.chan(1)];
    h.send(inp, 7);
    const s = h.select([send(out, 9), recv(inp)]);
    const buffered = [h.stats(out)!.buffered, h.stats(inp)!.buffered];
    expect(buffered).toEqual(s.index === 0 ? [1, 1] : [0, 0]);
  });

  it("runs its default when no case is ready, changing nothing", () => {
    const h = new Home();
    const [a, b] = [h.chan(), h.chan()];
    const s = h.select([recv(a), send(b, 1)], { dflt: true });
    expect(s.index).toBe(-1);
    expect(h.home.stats().every((c) => c.waitingReceivers === 0 && c.waitingSenders === 0)).toBe(true);
  });

  it("waits for the first case to become ready, and then leaves the other channels", () => {
    const h = new Home();
    const [a, b] = [h.chan(), h.chan()];
    const s = h.select([recv(a), recv(b)]);
    expect(s.finished).toBe(false);
    const sender = h.send(b, 5);
    expect([s.index, s.received]).toEqual([1, 5]);
    expect(sender.index).toBe(0);
    expect(h.stats(a)!.waitingReceivers).toBe(0);
    expect(h.send(a, 6).finished).toBe(false); // nobody receives on `a` any more
  });

  it("takes nothing once withdrawn", () => {
    const h = new Home();
    const a = h.chan();
    const s = h.select([recv(a)]);
    s.withdraw();
    const sender = h.send(a, 1);
    expect(sender.finished).toBe(false);
    expect(s.finished).toBe(false);
  });

  it("chooses uniformly among the ready cases", () => {
    const trials = 3000;
    const h = new Home();
    const chans = [h.chan(1), h.chan(1), h.chan(1)];
    for (const c of chans) h.send(c, 0);
    const counts = [0, 0, 0];
    for (let i = 0; i < trials; i++) {
      const { index } = h.select(chans.map(recv));
      counts[index]!++;
      h.send(chans[index]!, 0); // ready again for the next trial
    }
    // Each case is a binomial(3000, 1/3): mean 1000, sd 25.8. Six sd either way: a fair
    // choice fails this once in 10^9 runs; taking the first ready case fails it every time.
    for (const n of counts) expect(Math.abs(n - trials / 3)).toBeLessThan(6 * Math.sqrt(trials * (1 / 3) * (2 / 3)));
  });

  it("never chooses a case that is not ready", () => {
    const trials = 1000;
    const h = new Home();
    const chans = [h.chan(), h.chan(1), h.chan(1)];
    for (const c of chans.slice(1)) h.send(c, 0);
    const counts = [0, 0, 0];
    for (let i = 0; i < trials; i++) {
      const { index } = h.select(chans.map(recv));
      counts[index]!++;
      h.send(chans[index]!, 0);
    }
    expect(counts[0]).toBe(0);
    for (const n of counts.slice(1)) expect(Math.abs(n - trials / 2)).toBeLessThan(6 * Math.sqrt(trials / 4));
  });

  it("counts a closed, drained channel as one ready case among the others, not ahead of them", () => {
    const trials = 2000;
    const h = new Home();
    const [closed, open] = [h.chan(), h.chan(1)];
    h.home.close(closed); // closed with nothing in it: retired at once, a receive is always ready
    h.send(open, 0);
    const counts = [0, 0];
    for (let i = 0; i < trials; i++) {
      const s = h.select([recv(closed), recv(open)]);
      counts[s.index]!++;
      if (s.index === 0) expect(s.received).toBe("done");
      else h.send(open, 0);
    }
    // Before the fix the closed case won every time (2000 to 0).
    for (const n of counts) expect(Math.abs(n - trials / 2)).toBeLessThan(6 * Math.sqrt(trials / 4));
  });
});
