import { describe, expect, it } from "vitest";
import { ANY, PROC_NULL } from "../src/comm.ts";
import { probeData, probeText, type ProbeResult } from "./fixtures/spmd-more.ts";
import { useCluster } from "./use-cluster.ts";

type More = typeof import("./fixtures/spmd-more.ts");

// MPI_Probe / MPI_Iprobe: a matching message is described (source, tag, size) and stays
// queued; the receive with the status's source and tag then gets exactly that message.

function check(results: ProbeResult[], n: number): void {
  expect(results).toHaveLength(n);
  const nullStatus = { source: PROC_NULL, tag: ANY, bytes: 0, kind: "value", count: 0 };
  for (const got of results) {
    expect(got.procNull).toEqual({ probe: nullStatus, iprobe: nullStatus });
    expect(got.errors.map((e) => e?.name)).toEqual(["RangeError", "RangeError", "RangeError", "RangeError"]);
    expect(got.errors[0]!.message).toMatch(/^probe: source must be a rank/);
    expect(got.errors[2]!.message).toMatch(/^iprobe: source must be a rank/);
  }
  const zero = results[0]!;
  expect(zero.emptyBefore).toBeUndefined();
  expect(zero.absent).toBeUndefined();
  const senders = Array.from({ length: n - 1 }, (_, k) => k + 1);
  for (const [k, s] of zero.iprobes.entries()) {
    const j = k + 1;
    expect(s, `iprobe(${j}, ${100 + j})`).toMatchObject({ source: j, tag: 100 + j, kind: "value", count: 1 });
    expect(s!.bytes).toBeGreaterThan(probeText(j).length); // the encoding's size
  }
  // Every message probed with ANY/ANY is the one the receive then got, each exactly once,
  // and a sender's messages come in the order it sent them.
  expect(zero.seen).toHaveLength(2 * (n - 1));
  for (const { status, got } of zero.seen) {
    expect(got.source).toBe(status.source);
    expect(got.tag).toBe(status.tag);
    const j = status.source;
    if (status.tag === j) {
      expect(got.value).toEqual(probeData(j));
      expect(status).toEqual({ source: j, tag: j, bytes: 8 * (j + 1), kind: "Float64Array", count: j + 1 });
    } else {
      expect(status.tag).toBe(100 + j);
      expect(got.value).toBe(probeText(j));
    }
  }
  const order = zero.seen.map((s) => `${s.status.source}:${s.status.tag}`);
  expect([...order].sort()).toEqual(senders.flatMap((j) => [`${j}:${j}`, `${j}:${100 + j}`]).sort());
  for (const j of senders) expect(order.indexOf(`${j}:${j}`)).toBeLessThan(order.indexOf(`${j}:${100 + j}`));
  if (n >= 2) {
    expect(results[1]!.waited).toEqual({
      status: { source: 0, tag: 7, bytes: 12, kind: "Int32Array", count: 3 },
      got: { source: 0, tag: 7, value: Int32Array.of(1, 2, 3) },
    });
  }
}

describe("spmd: probe and iprobe", () => {
  const t = useCluster<{ m: More }>({ runners: 2, threads: 2 }, { m: "spmd-more.ts" });

  it.each([
    { placement: [0] },
    { placement: [0, 1] },
    { placement: [1, 1, 0] },
    { placement: [0, 0, 0, 1, 1] },
    { placement: [1, 0, 0, 0, 0, 1, 1, 0] },
  ])("ranks on runners $placement", async ({ placement }) => {
    const n = placement.length;
    check(await t.cluster.spmd({ size: n, placement }, t.m.probeSuite), n);
  });
});
