import { describe, expect, it } from "vitest";
import { parseProgramArg } from "../src/cli/mpirun-command.ts";
import { runCli } from "./helpers.ts";

// `strand mpirun` as a user runs it: a child process, local runners, stdout and exit code.
describe("strand mpirun", () => {
  it("runs n ranks over local runners and prints rank 0's result", async () => {
    const run = runCli(["mpirun", "-n", "4", "--local", "2", "test/fixtures/mpi-prog.ts", "--", "1000"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["6"]); // 0+1+2+3
  });

  it("runs another export and parses arguments as JSON where they parse", async () => {
    const run = runCli(["mpirun", "-n", "3", "--local", "2", "--export", "describeJob", "test/fixtures/mpi-prog.ts", "--", "job"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["job: 3 ranks [0,1,2]"]);
  });

  it("exits non-zero with the failed rank and its remote stack when a rank throws", async () => {
    const run = runCli(["mpirun", "-n", "3", "--local", "2", "--export", "failing", "test/fixtures/mpi-prog.ts", "--", "1"]);
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toMatch(/JobAbortedError: job aborted: rank 1 failed: RemoteError: RangeError: rank 1 refuses/);
    expect(run.stderr()).toMatch(/--- remote stack/);
    expect(run.stderr()).toMatch(/at failing \(/);
  });

  it("parses program arguments as JSON, else keeps the string", () => {
    expect(parseProgramArg("1000000")).toBe(1_000_000);
    expect(parseProgramArg("[1,2]")).toEqual([1, 2]);
    expect(parseProgramArg("hello")).toBe("hello");
  });
});
