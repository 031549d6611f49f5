// A result a call hands over (WasmArray.moveOut(), src/handoff.ts) leaves the worker as it
// is; every other big result is copied as the worker packs it, since the function may
// still change it while its batch finishes.
import { describe, expect, it } from "vitest";
import { packOutcomes, unpackOutcomes } from "../../src/runner/batch.ts";
import { handOff } from "../../src/handoff.ts";
import { wasmKernel } from "../../src/runtime.ts";
import { readFileSync } from "node:fs";
import type { CallOutcome } from "../../src/runner/task.ts";

const big = 256 * 1024;
const outcome = (id: number, seg: Uint8Array): CallOutcome => ({ id, ok: true, segments: [new Uint8Array([1]), seg], execMicros: 1 });

describe("packing a worker's results", () => {
  it("sends a handed-off segment without a copy, and copies the others", () => {
    const handed = new Uint8Array(new SharedArrayBuffer(big)).fill(7);
    handOff(handed.buffer as SharedArrayBuffer);
    const kept = new Uint8Array(new SharedArrayBuffer(big)).fill(9); // shared, but not handed over
    const plain = new Uint8Array(big).fill(3);
    const [a, b, c] = unpackOutcomes(packOutcomes([outcome(1, handed), outcome(2, kept), outcome(3, plain)], 0));
    expect(a!.segments[1]).toBe(handed);
    expect(b!.segments[1]).not.toBe(kept);
    expect(b!.segments[1]!.buffer).not.toBe(kept.buffer);
    expect(c!.segments[1]!.buffer).not.toBe(plain.buffer);
    kept.fill(0); // a change after the call returned does not reach what is sent
    expect(b!.segments[1]!.every((x) => x === 9)).toBe(true);
  });
});

describe("WasmArray.moveOut()", () => {
  const k = wasmKernel(readFileSync(new URL("../../examples/matmul/matmul.wasm", import.meta.url)));

  it("gives a big block as a handed-off copy in shared memory, which the packing passes on", () => {
    using block = k.alloc(Float64Array, big / 8);
    block.view().forEach((_, i, v) => (v[i] = i / 2));
    const out = block.moveOut();
    expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...out.subarray(0, 4)]).toEqual([0, 0.5, 1, 1.5]);
    const seg = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const [o] = unpackOutcomes(packOutcomes([outcome(1, seg)], 0));
    expect(o!.segments[1]).toBe(seg);
  });

  it("gives a small block as a plain copy", () => {
    using block = k.alloc(Int32Array, 4);
    block.view().set([1, 2, 3, 4]);
    const out = block.moveOut();
    expect(out.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...out]).toEqual([1, 2, 3, 4]);
  });
});
