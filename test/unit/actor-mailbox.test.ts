import { describe, expect, it } from "vitest";
import { Mailbox } from "../../src/runner/actors/mailbox.ts";

/** A promise and the functions that settle it: a method call held open by the test. */
function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void; fail: (e: Error) => void } {
  let open!: (v: T) => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

const settled = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("actor mailbox", () => {
  it("runs calls one at a time in the order posted: an async call's awaits let no other in", async () => {
    const box = new Mailbox(1);
    const log: string[] = [];
    const gates = [gate(), gate(), gate()];
    const done = gates.map((g, i) => box.post(async () => {
      log.push(`${i}:start`);
      await g.promise;
      log.push(`${i}:end`);
      return i;
    }));
    await settled();
    expect(log).toEqual(["0:start"]);
    expect(box.active).toBe(1);
    expect(box.depth).toBe(2);
    gates[2]!.open(); // the last one's gate opens first: still waits its turn
    gates[1]!.open();
    await settled();
    expect(log).toEqual(["0:start"]);
    gates[0]!.open();
    expect(await Promise.all(done)).toEqual([0, 1, 2]);
    expect(log).toEqual(["0:start", "0:end", "1:start", "1:end", "2:start", "2:end"]);
    expect(box.active).toBe(0);
    expect(box.depth).toBe(0);
  });

  it("a synchronous call on a free mailbox runs at once, before post returns", async () => {
    const box = new Mailbox(1);
    let ran = false;
    const p = box.post(() => {
      ran = true;
      return 7;
    });
    expect(ran).toBe(true);
    expect(await p).toBe(7);
  });

  it("a call that throws or rejects fails alone; the next calls run", async () => {
    const box = new Mailbox(1);
    // A synchronous call on a free mailbox runs at once: what it throws is thrown at post.
    expect(() => box.post(() => {
      throw new RangeError("sync, at once");
    })).toThrow(RangeError);
    const hold = gate();
    const holding = box.post(() => hold.promise);
    // Queued behind a call: what it throws rejects its promise.
    const thrown = box.post(() => {
      throw new RangeError("sync");
    });
    const rejected = box.post(() => Promise.reject(new TypeError("async")));
    const after = box.post(() => "fine");
    hold.open();
    await holding;
    await expect(thrown).rejects.toBeInstanceOf(RangeError);
    await expect(rejected).rejects.toBeInstanceOf(TypeError);
    expect(await after).toBe("fine");
  });

  it("maxConcurrency n: up to n async calls run at once, started in the order posted", async () => {
    const box = new Mailbox(2);
    const started: number[] = [];
    const gates = [gate(), gate(), gate(), gate()];
    const done = gates.map((g, i) => box.post(async () => {
      started.push(i);
      await g.promise;
      return i;
    }));
    await settled();
    expect(started).toEqual([0, 1]);
    expect(box.active).toBe(2);
    expect(box.depth).toBe(2);
    gates[1]!.open(); // a later one finishing first frees a place
    await settled();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it("close fails the calls waiting and every later one with its error; those running finish", async () => {
    const box = new Mailbox(1);
    const g = gate<string>();
    const running = box.post(() => g.promise);
    const waiting = [box.post(() => 1), box.post(() => 2)];
    const died = new Error("killed");
    box.close(died);
    expect(box.depth).toBe(0);
    for (const w of waiting) await expect(w).rejects.toBe(died);
    await expect(box.post(() => 3)).rejects.toBe(died);
    box.close(new Error("again")); // the first reason stays
    await expect(box.post(() => 4)).rejects.toBe(died);
    g.open("finished");
    expect(await running).toBe("finished");
  });

  it("a call whose caller gave up before its turn leaves the queue and never runs; one already running is not stopped", async () => {
    const box = new Mailbox(1);
    const g = gate<string>();
    const running = new AbortController();
    const first = box.post(() => g.promise, running.signal);
    const waiting = new AbortController();
    let ran = false;
    const second = box.post(() => {
      ran = true;
    }, waiting.signal);
    const third = box.post(() => "third");
    const why = new Error("timed out");
    waiting.abort(why);
    running.abort(new Error("too late"));
    await expect(second).rejects.toBe(why);
    expect(box.depth).toBe(1);
    g.open("first");
    expect(await first).toBe("first");
    expect(await third).toBe("third");
    expect(ran).toBe(false);
  });

  it("refuses a limit below 1 or not an integer", () => {
    expect(() => new Mailbox(0)).toThrow(RangeError);
    expect(() => new Mailbox(1.5)).toThrow(RangeError);
  });
});
