import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobAbortedError, MpiError, type RemoteLogLine } from "../src/index.ts";
import { rejectionOf, removeDir, tempDir } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";
import { compileNative } from "./wasm-mpi-local.ts";
import { compileFixture } from "./wasm-programs.ts";

// The MPI ABI on real runners: C programs as the ranks of cluster.spmd(n, prog.wasm), 1..8
// ranks placed unevenly over 2 runners of 2 threads (ranks share threads, threads and
// runners; neighbours cross runners), so every function runs over memory and TCP alike.

let dir: string;
let all: string;
let bounds: string;
let probe: string;
beforeAll(async () => {
  dir = await tempDir("strand-wasm-mpi-");
  all = compileFixture(dir, "mpi-all");
  bounds = compileFixture(dir, "bounds");
  probe = compileFixture(dir, "probe");
}, 60_000);
afterAll(() => removeDir(dir));

const lines: RemoteLogLine[] = [];
const t = useCluster({ runners: 2, threads: 2, logs: (l) => lines.push(l) });

const SECTIONS = ["environment", "point-to-point", "requests", "collectives", "reductions", "maxloc-minloc", "user-ops", "communicators"];
/** Two of every three ranks on runner 0, interleaved. */
const uneven = (n: number): number[] => Array.from({ length: n }, (_, i) => (i % 3 === 2 ? 1 : 0));
const stdoutOf = (rank: number): string[] => lines.filter((l) => l.stream === "stdout" && l.text.startsWith(`[rank ${rank}] `)).map((l) => l.text.slice(`[rank ${rank}] `.length));

describe("every MPI function from C on real runners", () => {
  it.each([1, 2, 3, 5, 8])("passes every check on %i ranks", async (n) => {
    lines.length = 0;
    const statuses = await t.cluster.spmd({ size: n, placement: uneven(n) }, all);
    expect(statuses).toEqual(Array.from({ length: n }, () => 0));
    expect(stdoutOf(0)).toEqual([...SECTIONS.map((s) => `ok ${s}`), `done on ${n} ranks`]);
  }, 60_000);
});

describe("probe and cancel on real runners", () => {
  it.each([1, 2, 4, 7])("MPI_Probe sizes a message before it is received, MPI_Iprobe does not wait, MPI_Cancel withdraws a receive, on %i ranks", async (n) => {
    lines.length = 0;
    expect(await t.cluster.spmd({ size: n, placement: uneven(n) }, probe)).toEqual(Array.from({ length: n }, () => 0));
    expect(stdoutOf(0)).toEqual(["ok probe", "ok iprobe", "ok cancel"]);
  }, 60_000);
});

describe("bounds violations on real runners", () => {
  it.each([
    ["recv-long", 1, "MPI_Recv on rank 1: receive buffer: 20 bytes at 0x[0-9a-f]+ run 4 bytes past the end of memory"],
    ["negative", 1, "MPI_Allreduce on rank 1: receive buffer count -1 is negative"],
    ["gather-long", 0, "MPI_Gather on rank 0: receive buffer: 12 bytes at 0x[0-9a-f]+ run 4 bytes past the end of memory"],
  ])("%s aborts the job with an MpiError naming the call and rank", async (what, rank, message) => {
    const err = await rejectionOf(t.cluster.spmd({ size: 3, placement: uneven(3) }, bounds, what));
    expect(err).toBeInstanceOf(JobAbortedError);
    expect((err as JobAbortedError).rank).toBe(rank);
    const cause = (err as JobAbortedError).cause;
    expect(cause).toBeInstanceOf(MpiError);
    expect((cause as MpiError).call).toBe(message.split(" ")[0]);
    expect((cause as MpiError).message).toMatch(new RegExp(`^${message}`));
    // The runners are fine: the next job runs.
    expect(await t.cluster.spmd(2, all)).toEqual([0, 0]);
  }, 60_000);
});

describe("against Open MPI", () => {
  it("hello, ring and reductions on 4 ranks over 2 runners print what mpirun prints for the native build", async () => {
    const wasm = compileFixture(dir, "hello");
    const native = await compileNative("hello.c", dir);
    lines.length = 0;
    expect(await t.cluster.spmd({ size: 4, placement: uneven(4) }, wasm)).toEqual([0, 0, 0, 0]);
    const ours = lines.filter((l) => l.stream === "stdout").map((l) => l.text.replace(/^\[rank \d+\] /, ""));
    const theirs = (await promisify(execFile)("mpirun", ["--allow-run-as-root", "--oversubscribe", "-n", "4", native])).stdout;
    expect(ours.sort()).toEqual(theirs.split("\n").filter(Boolean).sort());
    expect(ours).toContain("ring done; harmonic 2.083333333333; squares 14000000098");
  }, 60_000);
});
