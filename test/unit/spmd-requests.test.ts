import { describe, expect, it } from "vitest";
import { ANY, testAll, testAny, waitAll, waitAny } from "../../src/comm.ts";
import { CancelledError, JobAbortedError } from "../../src/errors.ts";
import { Mailbox } from "../../src/runner/spmd/mailbox.ts";
import { receiveRequest, sendRequest } from "../../src/runner/spmd/requests.ts";

// Requests over a bare mailbox: test, cancel and the list functions as MPI defines them.

function setup(): { box: Mailbox; irecv: (source?: number) => ReturnType<typeof receiveRequest<unknown>>; deliver: (source: number, value: unknown) => void } {
  const box = new Mailbox();
  return {
    box,
    irecv: (source = ANY) => receiveRequest(box.post("w:p", source, ANY), (m) => m.value),
    deliver: (source, value) => box.deliver({ context: "w:p", source, tag: 0, value, bytes: 1 }),
  };
}

describe("requests", () => {
  it("test() is undefined while pending and the value at once after the match; the request is still a promise", async () => {
    const { irecv, deliver } = setup();
    const r = irecv(1);
    expect(r.test()).toBeUndefined();
    deliver(1, "v");
    expect(r.test()).toEqual({ cancelled: false, value: "v" });
    expect(await r).toBe("v");
    expect(r.cancel()).toBe(false);
  });

  it("cancel of an unmatched receive: completes as cancelled, awaiting rejects with CancelledError", async () => {
    const { irecv, deliver, box } = setup();
    const r = irecv(1);
    expect(r.cancel()).toBe(true);
    expect(r.test()).toEqual({ cancelled: true, value: undefined });
    await expect(r).rejects.toBeInstanceOf(CancelledError);
    deliver(1, "later");
    expect(box.peek("w:p", 1, ANY)?.value).toBe("later");
  });

  it("a cancelled receive nobody awaits is not an unhandled rejection", async () => {
    const { irecv } = setup();
    const unhandled: unknown[] = [];
    const on = (e: unknown): void => void unhandled.push(e);
    process.on("unhandledRejection", on);
    try {
      irecv(2).cancel();
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("unhandledRejection", on);
    }
    expect(unhandled).toEqual([]);
  });

  it("a failed receive's test() throws its error", async () => {
    const { irecv, box } = setup();
    const r = irecv();
    box.fail(new JobAbortedError(3, "gone"));
    expect(() => r.test()).toThrow(JobAbortedError);
    await expect(r).rejects.toBeInstanceOf(JobAbortedError);
  });

  it("testAll is undefined until every request is done, then every completion in order", async () => {
    const { irecv, deliver } = setup();
    const reqs = [irecv(1), irecv(2), irecv(3)] as const;
    deliver(1, "a");
    deliver(3, "c");
    expect(testAll(reqs)).toBeUndefined();
    reqs[1].cancel();
    expect(testAll(reqs)).toEqual([{ cancelled: false, value: "a" }, { cancelled: true, value: undefined }, { cancelled: false, value: "c" }]);
    expect(await waitAll(reqs)).toEqual(testAll(reqs));
  });

  it("waitAny: the lowest index among those done already, else the first to complete; a cancel counts; empty is undefined", async () => {
    const { irecv, deliver } = setup();
    const reqs = [irecv(1), irecv(2), irecv(3)];
    deliver(3, "c");
    deliver(2, "b");
    expect(await waitAny(reqs)).toEqual({ index: 1, cancelled: false, value: "b" });
    expect(testAny(reqs)).toEqual({ index: 1, cancelled: false, value: "b" });
    const more = [irecv(4), irecv(5)];
    const any = waitAny(more);
    deliver(5, "e");
    expect(await any).toEqual({ index: 1, cancelled: false, value: "e" });
    const last = [irecv(6)];
    const cancelled = waitAny(last);
    last[0]!.cancel();
    expect(await cancelled).toEqual({ index: 0, cancelled: true, value: undefined });
    expect(await waitAny([])).toBeUndefined();
    expect(testAny([])).toBeUndefined();
  });

  it("waitAny rejects with a failure; the list functions refuse what is not a request", async () => {
    const { irecv, box } = setup();
    const any = waitAny([irecv(1), irecv(2)]);
    box.senderLost(2, new JobAbortedError(2, "broke"));
    await expect(any).rejects.toThrow("broke");
    expect(() => testAll([Promise.resolve(1)] as never)).toThrow(/testAll: reqs\[0\] is not a request/);
    await expect(waitAll("x" as never)).rejects.toThrow(TypeError);
  });

  it("a send request is done once its promise settles; it cannot be cancelled; a failure is thrown by test()", async () => {
    let finish!: () => void;
    const s = sendRequest(new Promise<void>((resolve) => (finish = resolve)));
    expect(s.test()).toBeUndefined();
    expect(s.cancel()).toBe(false);
    finish();
    await s;
    expect(s.test()).toEqual({ cancelled: false, value: undefined });
    const bad = sendRequest(Promise.reject(new TypeError("no")));
    await expect(bad).rejects.toThrow("no");
    expect(() => bad.test()).toThrow("no");
  });
});
