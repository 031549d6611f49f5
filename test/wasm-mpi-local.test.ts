import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./helpers.ts";
import { compileNative, runRanks } from "./wasm-mpi-local.ts";
import { compileFixture } from "./wasm-programs.ts";

// C MPI programs through the ABI without runners (wasm-mpi-local.ts: each rank's Wasm on a
// thread, its executor over a real Communicator on in-memory mailboxes): the ABI alone, apart
// from the rank runtime (test/wasm-mpi-runners.test.ts runs them on runners). And mpi-all.c
// natively on Open MPI: its checks are MPI's.

const SECTIONS = ["environment", "point-to-point", "requests", "collectives", "reductions", "maxloc-minloc", "user-ops", "communicators"];
let dir: string;
let all: string;
let bounds: string;
let probe: string;

beforeAll(async () => {
  dir = await tempDir("strand-wasm-mpi-");
  [all, bounds, probe] = ["mpi-all", "bounds", "probe"].map((name) => compileFixture(dir, name)) as [string, string, string];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("every MPI function from C", () => {
  it.each([1, 3, 8])("passes every check on %i ranks", async (n) => {
    const out = await runRanks(all, n, dir);
    for (const o of out) expect(o).toMatchObject({ exit: 0 });
    expect(out[0]!.stdout).toBe(`${SECTIONS.map((s) => `ok ${s}\n`).join("")}done on ${n} ranks\n`);
  });
});

describe("probe and cancel", () => {
  it.each([1, 2, 4, 6])("MPI_Probe sizes a message before it is received, MPI_Iprobe does not wait, MPI_Cancel withdraws a receive, on %i ranks", async (n) => {
    const out = await runRanks(probe, n, dir);
    for (const o of out) expect(o).toMatchObject({ exit: 0 });
    expect(out[0]!.stdout).toBe("ok probe\nok iprobe\nok cancel\n");
  });
});

describe("bounds violations", () => {
  it.each([
    ["recv-long", 1, "MPI_Recv on rank 1: receive buffer: 20 bytes at 0x[0-9a-f]+ run 4 bytes past the end of memory"],
    ["send-long", 1, "MPI_Send on rank 1: send buffer: 20 bytes at 0x[0-9a-f]+ run 4 bytes past the end of memory"],
    ["negative", 1, "MPI_Allreduce on rank 1: receive buffer count -1 is negative"],
    ["past", undefined, "MPI_Bcast on rank \\d: buffer: pointer 0x[0-9a-f]+ is past the end of memory"],
    ["gather-long", 0, "MPI_Gather on rank 0: receive buffer: 12 bytes at 0x[0-9a-f]+ run 4 bytes past the end of memory"],
  ])("%s is refused with an MpiError naming the call and rank", async (what, rank, message) => {
    const out = await runRanks(bounds, 3, dir, [what]);
    const failed = out.filter((o) => o.error?.name === "MpiError");
    expect(failed.length).toBeGreaterThan(0);
    if (rank !== undefined) expect(out[rank]!.error).toMatchObject({ code: "ERR_STRAND_MPI" });
    for (const f of failed) expect(f.error!.message).toMatch(new RegExp(`^${message}`));
    for (const f of failed) expect(f.stdout).not.toContain("passed");
  });
});

describe("against Open MPI", () => {
  const mpirun = promisify(execFile);
  it("every check of mpi-all.c passes natively too (the checks are MPI's, not ours)", async () => {
    const native = await compileNative("mpi-all.c", dir);
    const theirs = (await mpirun("mpirun", ["--allow-run-as-root", "--oversubscribe", "-n", "4", native])).stdout;
    expect(theirs).toBe(`${SECTIONS.map((s) => `ok ${s}\n`).join("")}done on 4 ranks\n`);
  });
});
