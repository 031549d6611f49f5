import { describe, expect, it } from "vitest";
import pino from "pino";
import type { CallObserver } from "../../src/driver/calls/call.ts";
import type { PendingCall } from "../../src/driver/calls/call.ts";
import { Observers } from "../../src/driver/observe/observers.ts";
import { makeCall } from "./fake-call.ts";

const quiet = pino({ level: "silent" });

/** An observer that writes down what it heard. */
function recorder(): CallObserver & { heard: string[] } {
  const heard: string[] = [];
  return {
    heard,
    submitted: (c: PendingCall) => heard.push(`submitted ${c.exportName} #${c.seq}`),
    sent: (c: PendingCall) => heard.push(`sent ${c.exportName}`),
    settled: (c: PendingCall, e: Error | undefined) => heard.push(`settled ${c.exportName} ${e === undefined ? "ok" : e.message}`),
  };
}

describe("call observers", () => {
  it("hear a call made, sent and settled once, numbered in order", () => {
    const obs = new Observers(quiet);
    const r = recorder();
    obs.add(r);
    const a = makeCall("a");
    const b = makeCall("b");
    obs.submitted(a.call);
    obs.submitted(b.call);
    a.call.markSent();
    a.call.resolve(1);
    a.call.resolve(2); // settles once
    b.call.reject(new Error("boom"));
    expect(r.heard).toEqual(["submitted a #1", "submitted b #2", "sent a", "settled a ok", "settled b boom"]);
    expect(a.call.settledAt).toBeGreaterThanOrEqual(a.call.sentAt);
    expect(a.call.sentAt).toBeGreaterThanOrEqual(a.call.submittedAt);
  });

  it("do not hear a rejection the retry policy takes back", () => {
    const obs = new Observers(quiet);
    const r = recorder();
    obs.add(r);
    const a = makeCall("a");
    obs.submitted(a.call);
    let tries = 0;
    a.call.retry = (e) => (tries++ === 0 ? undefined : e);
    a.call.reject(new Error("lost"));
    expect(r.heard).toEqual(["submitted a #1"]);
    a.call.reject(new Error("lost again"));
    expect(r.heard).toEqual(["submitted a #1", "settled a lost again"]);
  });

  it("keep calling the others when one throws, and stop calling one removed", () => {
    const obs = new Observers(quiet);
    const r = recorder();
    obs.add({ submitted: () => { throw new Error("bad observer"); }, sent: () => {}, settled: () => {} });
    const stop = obs.add(r);
    const a = makeCall("a");
    obs.submitted(a.call);
    stop();
    a.call.resolve(1);
    expect(r.heard).toEqual(["submitted a #1"]);
    expect(obs.size).toBe(1);
  });
});
