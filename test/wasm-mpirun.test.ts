import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, removeDir, runCli, tempDir } from "./helpers.ts";

// C programs compiled by `strand cc` and run by `strand mpirun` as a user runs them: child
// processes, local runners, real clang.
// Each case starts two runner processes from source: give a busy 2-core machine room.
describe("strand cc + strand mpirun prog.wasm", { timeout: 90_000 }, () => {
  let dir: string;
  let prog: string;
  beforeAll(async () => {
    dir = await tempDir("strand-wasm-");
    prog = path.join(dir, "ranks.wasm");
    const cc = runCli(["cc", "test/fixtures/wasm/ranks.c", "-O2", "-o", prog]);
    expect(await cc.exit, cc.stderr()).toBe(0);
  }, 60_000);
  afterAll(() => removeDir(dir));

  it("compiles with strand cc", () => {
    expect(existsSync(prog)).toBe(true);
  });

  it("runs every rank with argv and only the environment given, its output prefixed by rank", async () => {
    const run = runCli(["mpirun", "-n", "4", "--local", "2", "--env", "GREETING=hi there", prog, "--", "hello", "a b", "7"],
      cleanEnv({ STRAND_TOKEN: "secret-of-the-driver", GREETING: "not this one" }));
    expect(await run.exit, run.stderr()).toBe(0);
    for (let r = 0; r < 4; r++) {
      expect(run.lines).toContainEqual(expect.stringContaining(
        `[rank ${r}] hello from rank ${r} of 4, argv[0]=ranks.wasm argc=4 [a b] [7], GREETING=hi there, STRAND_TOKEN=(unset)`));
      expect(run.stderr()).toContain(`[rank ${r}] rank ${r} to stderr`);
    }
    // Nothing but the program's lines (mpirun prints no result for a C program).
    expect(run.lines.filter((l) => !l.includes("hello from rank"))).toEqual([]);
  });

  it("exits with a rank's non-zero exit status, aborting the others in MPI_Barrier", async () => {
    const run = runCli(["mpirun", "-n", "3", "--local", "2", prog, "--", "exit", "1", "5"]);
    expect(await run.exit).toBe(5);
    expect(run.stderr()).toMatch(/rank 1 failed: WasmExitError: rank 1 exited with status 5/);
  });

  it("exits with MPI_Abort's error code", async () => {
    const run = runCli(["mpirun", "-n", "3", "--local", "2", prog, "--", "abort", "2", "42"]);
    expect(await run.exit).toBe(42);
    expect(run.stderr()).toMatch(/MpiAbortError: rank 2 called MPI_Abort with error code 42/);
    expect(run.stderr()).toMatch(/--- wasm stack \(rank 2\) ---\n\s+at main \(wasm:/);
  });

  it("explains a missing toolchain", async () => {
    const run = runCli(["cc", "test/fixtures/wasm/ranks.c", "--sysroot=/nonexistent", "-o", path.join(dir, "never.wasm")]);
    expect(await run.exit).not.toBe(0);
    expect(run.stderr()).toMatch(/strand cc: wasi-libc is missing\. On Debian or Ubuntu: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32/);
  });
});
