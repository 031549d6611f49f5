import { describe, expect, it } from "vitest";
import type { RankAddress } from "../../src/protocol/spmd-wire.ts";
import { cpuFor, parseCpuList } from "../../src/runner/spmd/binding.ts";

const at = (runner: number, thread: number, node = "a"): RankAddress => ({ host: "127.0.0.1", port: 1, runner, thread, node });

describe("rank binding: which CPU a rank's thread takes", () => {
  it("reads CPU lists as the kernel writes them", () => {
    expect(parseCpuList("0-3,6,8-9\n")).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(parseCpuList("5")).toEqual([5]);
    expect(parseCpuList("x")).toEqual([]);
  });

  it("ranks of a node take its allowed CPUs in rank order, one per thread; other nodes count apart", () => {
    const table = [at(0, 1), at(1, 1), at(2, 1, "b"), at(1, 2)];
    expect([0, 1, 3].map((r) => cpuFor(table, r, [2, 5, 7]))).toEqual([2, 5, 7]);
    expect(cpuFor(table, 2, [0, 1])).toBe(0);
  });

  it("unbound when a node has more rank threads than CPUs, or two ranks share a thread (as mpirun leaves oversubscribed ranks)", () => {
    expect(cpuFor([at(0, 1), at(1, 1), at(2, 1)], 0, [0, 1])).toBeUndefined();
    expect(cpuFor([at(0, 1), at(0, 1)], 0, [0, 1])).toBeUndefined();
  });

  it("a runner that sent no node id is told apart by its host", () => {
    const table: RankAddress[] = [{ host: "h1", port: 1, runner: 0, thread: 1 }, { host: "h2", port: 1, runner: 1, thread: 1 }];
    expect(cpuFor(table, 1, [4, 5])).toBe(4);
  });
});
