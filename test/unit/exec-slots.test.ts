import { describe, expect, it } from "vitest";
import { Slots, type Lease, type SlotRunner } from "../../src/driver/builds/slots.ts";

// Where commands go on the driver (driver/builds/slots.ts): a free thread anywhere before a
// place queued ahead, one queued ahead per thread, and a more urgent command that came up
// after one was queued ahead counted as overtaken.

const runner = (address: string, threads = 1): SlotRunner => ({ address, usable: true, threads });

describe("exec slots: queued ahead", () => {
  it("fills every free thread first, then queues one ahead per thread, then waits", async () => {
    const a = runner("a"), b = runner("b");
    const slots = new Slots(() => [a, b], 1);
    const all = (): boolean => true;
    // a holds the first command's inputs: still, the second takes b's free thread, not a place ahead on a.
    const first = await slots.acquire(5, all, (r) => (r === a ? 100 : 0));
    const second = await slots.acquire(4, all, (r) => (r === a ? 100 : 0));
    expect([first.runner.address, first.ahead, second.runner.address, second.ahead]).toEqual(["a", false, "b", false]);
    // Two waiting for two busy threads: one queued ahead on each.
    const [third, fourth] = await Promise.all([slots.acquire(3, all, (r) => (r === b ? 1 : 0)), slots.acquire(2, all, () => 0)]);
    expect([third.runner.address, third.ahead]).toEqual(["b", true]);
    expect([fourth.runner.address, fourth.ahead]).toEqual(["a", true]);
    let fifth: Lease<SlotRunner> | undefined;
    const waiting = slots.acquire(9, all, () => 0).then((l) => (fifth = l));
    await Promise.resolve();
    expect(fifth).toBeUndefined();
    expect(slots.stats.ahead).toBe(2);
    // a's command ends: the one queued ahead there runs, and the more urgent fifth takes its place ahead.
    slots.release(first);
    await waiting;
    expect([fifth!.runner.address, fifth!.ahead]).toEqual(["a", true]);
    expect(slots.stats.overtaken).toBe(1);
    for (const l of [second, third, fourth, fifth!]) slots.release(l);
    expect(slots.busy(a) + slots.busy(b)).toBe(0);
  });

  it("holds back a lone waiter while more threads are busy with nothing queued ahead: it takes the first that frees", async () => {
    const a = runner("a"), b = runner("b");
    const slots = new Slots(() => [a, b], 1);
    const all = (): boolean => true;
    const [la] = [await slots.acquire(1, all, () => 0), await slots.acquire(1, all, () => 0)];
    let lone: Lease<SlotRunner> | undefined;
    const waiting = slots.acquire(1, all, (r) => (r === a ? 1 : 0)).then((l) => (lone = l));
    await Promise.resolve();
    expect(lone).toBeUndefined();
    slots.release(la!);
    await waiting;
    expect([lone!.runner.address, lone!.ahead]).toEqual(["a", false]);
    expect(slots.stats.ahead).toBe(0);
  });

  it("queues nothing ahead when told not to (STRAND_EXEC_AHEAD=0)", async () => {
    const a = runner("a", 2);
    const slots = new Slots(() => [a], 0);
    const leases = [await slots.acquire(1, () => true, () => 0), await slots.acquire(1, () => true, () => 0)];
    let third: Lease<SlotRunner> | undefined;
    const waiting = slots.acquire(1, () => true, () => 0).then((l) => (third = l));
    await Promise.resolve();
    expect(third).toBeUndefined();
    slots.release(leases[0]!);
    await waiting;
    expect(third!.ahead).toBe(false);
    expect(slots.stats).toEqual({ ahead: 0, overtaken: 0 });
  });

  it("a lease released twice frees its place once", async () => {
    const a = runner("a");
    const slots = new Slots(() => [a], 1);
    const l1 = await slots.acquire(1, () => true, () => 0);
    const l2 = await slots.acquire(1, () => true, () => 0);
    slots.release(l1);
    slots.release(l1);
    expect(slots.busy(a)).toBe(1);
    slots.release(l2);
    expect(slots.busy(a)).toBe(0);
  });
});
