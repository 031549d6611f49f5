import { describe, expect, it } from "vitest";
import { RunnerLostError } from "../src/index.ts";
import { decodeError, encodeSegments } from "../src/protocol/codec.ts";

function overTheWire(e: Error): RunnerLostError {
  return decodeError(encodeSegments(e, "error").map((s) => s.slice())) as RunnerLostError;
}

// Regression: a revived RunnerLostError's `reason` held its whole message, so an error
// rebuilt from it (as the retry policy does to count attempts) said "lost" twice.
describe("RunnerLostError over the wire", () => {
  it("keeps its reason, not its message, as `reason`", () => {
    const out = overTheWire(new RunnerLostError("10.0.0.2:7000", "connection reset"));
    expect(out).toBeInstanceOf(RunnerLostError);
    expect(out.reason).toBe("connection reset");
    expect(out.message).toBe("runner 10.0.0.2:7000 lost: connection reset");
  });

  it("keeps reason and attempts when the message says how many attempts were made", () => {
    const out = overTheWire(new RunnerLostError("10.0.0.2:7000", "heartbeats stopped", 4));
    expect([out.runner, out.reason, out.attempts]).toEqual(["10.0.0.2:7000", "heartbeats stopped", 4]);
  });

  it("can be rebuilt with its attempts counted, saying the reason once", () => {
    const out = overTheWire(new RunnerLostError("10.0.0.2:7000", "connection reset"));
    const counted = new RunnerLostError(out.runner, out.reason, 3);
    expect(counted.message).toBe("runner 10.0.0.2:7000 lost: connection reset (after 3 attempts)");
  });
});
