import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { movable } from "../../src/runner/wasm/mpi/replies.ts";

// The rank thread's answers to the Wasm thread move their big byte arrays instead of cloning
// them (a clone of an 8 MiB allreduce result cost up to 43 ms under load).

const big = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

/** What the Wasm thread reads: the answer posted with its transfer list, as thread-link.ts does. */
function across(value: unknown): unknown {
  const { port1, port2 } = new MessageChannel();
  const m = movable(value);
  port1.postMessage({ value: m.value }, m.transfer);
  const got = (receiveMessageOnPort(port2) as { message: { value: unknown } }).message.value;
  port1.close();
  return got;
}

describe("movable answers", () => {
  it("moves a big array that is its whole buffer: no copy is left behind", () => {
    const data = big(1 << 20, 7);
    const got = across({ received: { data, source: 1, tag: 3 }, cancelled: false }) as { received: { data: Uint8Array; source: number } };
    expect(data.byteLength).toBe(0); // detached: moved, not cloned
    expect(got.received.data.byteLength).toBe(1 << 20);
    expect(got.received.data[12345]).toBe(7);
    expect(got.received.source).toBe(1);
  });

  it("cuts a view out of a bigger buffer first, so only its own bytes cross", () => {
    const frame = big(1 << 20, 0);
    frame.fill(9, 100, 108);
    const view = frame.subarray(100, 108);
    const got = across([view]) as Uint8Array[];
    expect(frame.byteLength).toBe(1 << 20); // the frame is untouched
    expect(got[0]!.buffer.byteLength).toBe(8);
    expect([...got[0]!]).toEqual([9, 9, 9, 9, 9, 9, 9, 9]);
  });

  it("moves a buffer once when two answers share it, and leaves shared memory and small arrays to the clone", () => {
    const data = big(1 << 17, 1);
    const shared = new Uint8Array(new SharedArrayBuffer(1 << 17));
    const small = big(16, 2);
    const m = movable([data, data, shared, small]);
    expect(m.transfer).toEqual([data.buffer]);
    expect(across([data, data, shared, small])).toHaveLength(4);
    expect(small.byteLength).toBe(16);
  });
});
