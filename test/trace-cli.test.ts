import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, runCli, tempDir } from "./helpers.ts";
import { checkTrace } from "./trace-check.ts";

// `strand run --trace` and `strand mpirun --trace` write a trace a viewer opens. Each starts
// a CLI, its runners and (run) a script through tsx: seconds each, tens on a loaded 2-core box.
const SLOW = { timeout: 90_000 };

let dir: string;
beforeAll(async () => {
  dir = await tempDir("strand-trace-cli-");
});
afterAll(() => removeDir(dir));

describe("tracing from the CLI", () => {
  it("`strand run --trace out.json` writes the script's cluster's trace as it closes", SLOW, async () => {
    const file = path.join(dir, "run.json");
    const run = runCli(["run", "--local", "2", "--trace", file, "test/fixtures/driver-script.ts"]);
    expect(await run.exit).toBe(0);
    expect(run.lines[0]).toBe("sum 5");
    expect(run.stderr()).toContain(`trace written to ${file}`);
    const t = checkTrace(JSON.parse(await readFile(file, "utf8")));
    const calls = t.slices.filter((s) => s.pid === 1 && s.cat === "call");
    // The script's 20 pid() calls and one add(), each once, each run once on a runner.
    expect(calls.map((c) => c.name).sort()).toEqual([...Array<string>(1).fill("add"), ...Array<string>(20).fill("pid")]);
    const runs = t.slices.filter((s) => s.pid !== 1 && s.cat === "call");
    expect(runs.map((r) => r.args.call).sort()).toEqual(calls.map((c) => c.args.call).sort());
    expect([...t.processNames.values()].filter((n) => n.startsWith("runner "))).toHaveLength(2);
  });

  it("`strand mpirun --trace` writes the job's ranks and their collectives", SLOW, async () => {
    const file = path.join(dir, "mpirun.json");
    const run = runCli(["mpirun", "-n", "4", "--local", "2", "--trace", file, "test/fixtures/mpi-prog.ts", "--", "1000"]);
    expect(await run.exit).toBe(0);
    expect(run.lines).toEqual(["6"]); // element 0 of the sum of ranks
    const t = checkTrace(JSON.parse(await readFile(file, "utf8")));
    expect(t.slices.filter((s) => s.pid === 1 && s.cat === "call").map((s) => s.name).sort()).toEqual([0, 1, 2, 3].map((r) => `main (rank ${r})`));
    expect(t.slices.filter((s) => s.cat === "collective").map((s) => s.args.rank).sort()).toEqual([0, 1, 2, 3]);
  });
});
