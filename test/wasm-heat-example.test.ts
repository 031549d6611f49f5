import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, runCli, tempDir } from "./helpers.ts";

// examples/wasm/heat.c as its README runs it: `strand cc`, then `strand mpirun` on local
// runners, against the same source built by mpicc and run by Open MPI's mpirun. The plate's
// result line must be the same, character for character (the checksum is summed in rank order).
describe("examples/wasm: the heat stencil on Strand and on Open MPI", { timeout: 120_000 }, () => {
  let dir: string;
  let wasm: string;
  let native: string;
  beforeAll(async () => {
    dir = await tempDir("strand-heat-");
    wasm = path.join(dir, "heat.wasm");
    native = path.join(dir, "heat");
    const cc = runCli(["cc", "examples/wasm/heat.c", "-O2", "-o", wasm]);
    expect(await cc.exit, cc.stderr()).toBe(0);
    await promisify(execFile)("mpicc", ["-O2", "examples/wasm/heat.c", "-o", native]);
  }, 60_000);
  afterAll(() => removeDir(dir));

  const resultLine = (text: string): string | undefined => /heat: \d+x\d+ plate on .*/.exec(text)?.[0];

  it("prints the same steps, last change and checksum on 4 ranks over 2 runners", async () => {
    const args = ["64", "600"];
    const ours = runCli(["mpirun", "-n", "4", "--local", "2", wasm, "--", ...args]);
    expect(await ours.exit, ours.stderr()).toBe(0);
    const theirs = await promisify(execFile)("mpirun", ["--allow-run-as-root", "--oversubscribe", "-n", "4", native, ...args]);
    const line = resultLine(theirs.stdout);
    expect(line).toMatch(/^heat: 64x64 plate on 4 ranks: \d+ steps, last change .*, checksum .*/);
    expect(ours.lines.map(resultLine).filter((l) => l !== undefined)).toEqual([line]);
  });

  it("refuses a plate with fewer rows than ranks through MPI_Abort, with its exit code", async () => {
    const run = runCli(["mpirun", "-n", "3", "--local", "1", wasm, "--", "2", "10"]);
    expect(await run.exit).toBe(2);
    // Every rank aborts; whichever is first names the job's cause (rank 0's message may be cut off with it).
    expect(run.stderr()).toMatch(/MpiAbortError: rank \d called MPI_Abort with error code 2/);
  });
});
