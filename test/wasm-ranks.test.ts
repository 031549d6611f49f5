import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobAbortedError, WasmImportError, WasmTrapError, local, type RemoteLogLine } from "../src/index.ts";
import { rejectionOf, removeDir, tempDir } from "./helpers.ts";
import { useCluster } from "./use-cluster.ts";
import { compileFixture } from "./wasm-programs.ts";

// C programs as the ranks of cluster.spmd(n, "prog.wasm"), from code: real runners (2 x 2
// threads, so ranks share threads and runners), real clang.

let dir: string;
let ranks: string;
let unknown: string;
beforeAll(async () => {
  dir = await tempDir("strand-wasm-");
  ranks = compileFixture(dir, "ranks");
  unknown = compileFixture(dir, "unknown-import");
}, 60_000);
afterAll(() => removeDir(dir));

const lines: RemoteLogLine[] = [];
const t = useCluster({ runners: 2, threads: 2, logs: (l) => lines.push(l) });

const causeOf = (err: unknown): unknown => (err instanceof JobAbortedError ? err.cause : undefined);

describe("cluster.spmd(n, prog.wasm)", () => {
  it("runs the program on every rank (a file: URL too) and resolves with their exit statuses", async () => {
    lines.length = 0;
    const statuses = await t.cluster.spmd({ size: 5, wasm: { env: { GREETING: "from code" } } }, pathToFileURL(ranks), "hello", 42);
    expect(statuses).toEqual([0, 0, 0, 0, 0]);
    const out = lines.filter((l) => l.stream === "stdout").map((l) => l.text).sort();
    expect(out).toEqual([0, 1, 2, 3, 4].map((r) => `[rank ${r}] hello from rank ${r} of 5, argv[0]=ranks.wasm argc=3 [42], GREETING=from code, STRAND_TOKEN=(unset)`));
  });

  it("aborts the job with the Wasm stack when a rank traps, and the ranks blocked in MPI_Barrier do not hang", async () => {
    const err = await rejectionOf(t.cluster.spmd(4, ranks, "trap", 3));
    expect(err).toBeInstanceOf(JobAbortedError);
    expect((err as JobAbortedError).rank).toBe(3);
    const trap = causeOf(err);
    expect(trap).toBeInstanceOf(WasmTrapError);
    expect((trap as WasmTrapError).trap).toBe("unreachable");
    // The names section is kept: the C function that trapped, then its caller.
    expect((trap as WasmTrapError).wasmStack).toMatch(/at crash_here \(wasm:[^\n]*\n\s+at main \(wasm:/);
    // The runners are fine: the next job runs.
    expect(await t.cluster.spmd(4, ranks, "hello")).toEqual([0, 0, 0, 0]);
  });

  it("stops the ranks that compute without calling MPI once another rank fails, instead of leaving them running", async () => {
    const err = await rejectionOf(t.cluster.spmd(3, ranks, "spin", 0));
    expect((err as JobAbortedError).rank).toBe(0);
    expect(causeOf(err)).toBeInstanceOf(WasmTrapError);
    // Their threads are free again: a job using all four of them runs.
    expect(await t.cluster.spmd(4, ranks, "hello")).toEqual([0, 0, 0, 0]);
  });

  it("stops the ranks that only send (MPI_Send does not wait for the rank thread) once another rank fails", async () => {
    const err = await rejectionOf(t.cluster.spmd(3, ranks, "flood", 2));
    expect((err as JobAbortedError).rank).toBe(2);
    expect(causeOf(err)).toBeInstanceOf(WasmTrapError);
    expect(await t.cluster.spmd(4, ranks, "hello")).toEqual([0, 0, 0, 0]);
  });

  it("refuses a module importing what Strand does not provide, naming every unknown import, before it runs", async () => {
    const err = await rejectionOf(t.cluster.spmd(2, unknown));
    const refused = causeOf(err);
    expect(refused).toBeInstanceOf(WasmImportError);
    expect((refused as WasmImportError).module).toBe("unknown-import.wasm");
    expect((refused as WasmImportError).unknown.split(", ").sort()).toEqual(["env.mystery", "strand_mpi.MPI_Frobnicate"]);
  });

  it("caps each rank's memory: malloc past the limit returns NULL, and the runner lives on", async () => {
    lines.length = 0;
    expect(await t.cluster.spmd({ size: 2, wasm: { memoryMiB: 64 } }, ranks, "malloc", 100)).toEqual([0, 0]);
    expect(await t.cluster.spmd({ size: 2, wasm: { memoryMiB: 256 } }, ranks, "malloc", 100)).toEqual([0, 0]);
    const out = lines.map((l) => l.text).sort();
    expect(out).toEqual([
      "[rank 0] rank 0: malloc of 100 MiB returned NULL", "[rank 0] rank 0: malloc of 100 MiB succeeded (1)",
      "[rank 1] rank 1: malloc of 100 MiB returned NULL", "[rank 1] rank 1: malloc of 100 MiB succeeded (1)",
    ]);
  });
});

describe("the compile cache", () => {
  it("compiles a program once per runner under 50 concurrent ranks", async () => {
    // Runners of their own: no program compiled on them yet.
    const c = await local({ runners: 2, threads: 2, logs: () => {} });
    try {
      const before = await c.runnerStats();
      expect(before.map((s) => s.wasmCompiles)).toEqual([0, 0]);
      const statuses = await c.spmd(50, ranks, "hello");
      expect(statuses).toHaveLength(50);
      const after = await c.runnerStats();
      expect(after.map((s) => s.wasmCompiles)).toEqual([1, 1]);
    } finally {
      await c.close();
    }
  }, 120_000);
});
