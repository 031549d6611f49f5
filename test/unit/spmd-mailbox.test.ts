import { describe, expect, it } from "vitest";
import { ANY } from "../../src/comm.ts";
import { CancelledError, JobAbortedError } from "../../src/errors.ts";
import { Mailbox, type Envelope } from "../../src/runner/spmd/mailbox.ts";

// The matching engine alone: probes look at the unexpected queue without taking from it,
// receives posted as receipts can be cancelled until a message matches them.

const msg = (source: number, tag: number, value: unknown, context = "w:p"): Envelope => ({ context, source, tag, value, bytes: 10 + source });

describe("mailbox: probing", () => {
  it("peek finds the first queued message that matches and leaves it queued for the next matching receive", async () => {
    const box = new Mailbox();
    box.deliver(msg(1, 5, "a"));
    box.deliver(msg(2, 7, "b"));
    box.deliver(msg(2, 5, "c"));
    expect(box.peek("w:p", 2, ANY)?.value).toBe("b");
    expect(box.peek("w:p", ANY, 5)?.value).toBe("a");
    expect(box.peek("w:p", 3, ANY)).toBeUndefined();
    expect(box.peek("w:c", ANY, ANY)).toBeUndefined(); // another context
    const seen = box.peek("w:p", ANY, ANY)!;
    expect(seen.value).toBe("a");
    expect(seen.bytes).toBe(11);
    // Peeking twice sees the same message: nothing was taken.
    expect(box.peek("w:p", ANY, ANY)).toBe(seen);
    // A receive with the probed message's source and tag gets exactly it.
    expect(await box.receive("w:p", seen.source, seen.tag)).toBe(seen);
    expect(box.peek("w:p", ANY, ANY)?.value).toBe("b");
  });

  it("probe waits for a matching arrival; every waiting probe that matches sees it; it stays queued", async () => {
    const box = new Mailbox();
    const p1 = box.probe("w:p", ANY, 3);
    const p2 = box.probe("w:p", 4, ANY);
    const other = box.probe("w:p", 9, ANY);
    box.deliver(msg(1, 2, "no"));
    box.deliver(msg(4, 3, "yes"));
    const [a, b] = await Promise.all([p1, p2]);
    expect(a.value).toBe("yes");
    expect(b).toBe(a);
    expect((await box.receive("w:p", 4, 3)).value).toBe("yes");
    expect((await box.receive("w:p", ANY, ANY)).value).toBe("no");
    box.fail(new JobAbortedError(2, "gone"));
    await expect(other).rejects.toBeInstanceOf(JobAbortedError);
  });

  it("a message a posted receive takes at arrival is never seen by a probe", async () => {
    const box = new Mailbox();
    const r = box.receive("w:p", 1, ANY);
    const probed = box.probe("w:p", ANY, ANY);
    box.deliver(msg(1, 0, "taken"));
    expect((await r).value).toBe("taken");
    expect(box.peek("w:p", ANY, ANY)).toBeUndefined();
    box.deliver(msg(2, 0, "queued"));
    expect((await probed).value).toBe("queued");
  });

  it("probes on a lost sender (or ANY) fail; the job's failure fails peeks and probes", async () => {
    const box = new Mailbox();
    const onLost = box.probe("w:p", 3, ANY);
    const onAny = box.probe("w:p", ANY, ANY);
    const onOther = box.probe("w:p", 1, ANY);
    box.senderLost(3, new JobAbortedError(3, "broke"));
    await expect(onLost).rejects.toThrow("broke");
    await expect(onAny).rejects.toThrow("broke");
    expect(() => box.peek("w:p", 3, ANY)).toThrow("broke");
    box.deliver(msg(1, 0, "still"));
    expect((await onOther).value).toBe("still");
    box.fail(new JobAbortedError(0, "aborted"));
    expect(() => box.peek("w:p", 1, ANY)).toThrow("aborted");
    await expect(box.probe("w:p", 1, ANY)).rejects.toThrow("aborted");
  });
});

describe("mailbox: receipts", () => {
  it("a receipt is matched at delivery, synchronously, or at posting from the queue", () => {
    const box = new Mailbox();
    box.deliver(msg(0, 1, "early"));
    const queued = box.post("w:p", ANY, ANY);
    expect(queued.matched?.value).toBe("early");
    const r = box.post("w:p", 2, ANY);
    expect(r.done).toBe(false);
    box.deliver(msg(2, 0, "now"));
    expect(r.matched?.value).toBe("now");
  });

  it("cancel withdraws an unmatched receive: later messages skip it, its promise rejects with CancelledError", async () => {
    const box = new Mailbox();
    const first = box.post("w:p", 1, ANY);
    const second = box.post("w:p", 1, ANY);
    expect(first.cancel()).toBe(true);
    expect(first.cancelled).toBe(true);
    await expect(first.promise).rejects.toBeInstanceOf(CancelledError);
    box.deliver(msg(1, 0, "x"));
    expect(second.matched?.value).toBe("x");
    expect(first.matched).toBeUndefined();
    box.deliver(msg(1, 0, "y"));
    expect(box.peek("w:p", 1, ANY)?.value).toBe("y"); // nobody took it
    expect(first.cancel()).toBe(false); // once only
  });

  it("cancel of a matched or failed receive does nothing", async () => {
    const box = new Mailbox();
    const r = box.post("w:p", ANY, ANY);
    box.deliver(msg(3, 4, "got"));
    expect(r.cancel()).toBe(false);
    expect(r.cancelled).toBe(false);
    expect((await r.promise).value).toBe("got");
    const f = box.post("w:p", ANY, ANY);
    box.fail(new JobAbortedError(1, "x"));
    expect(f.cancel()).toBe(false);
    await expect(f.promise).rejects.toBeInstanceOf(JobAbortedError);
  });
});
