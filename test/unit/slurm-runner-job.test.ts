import { describe, expect, it } from "vitest";
import { graceMs, memoryMiB, runnerScript, sbatchArgs, shellWord, type RunnerJobSpec } from "../../src/driver/slurm/runner-job.ts";
import { parseSqueue } from "../../src/driver/slurm/slurm-commands.ts";

const spec: RunnerJobSpec = {
  head: "10.0.0.1:7600", threads: 8, jobName: "strand-runner", drainSeconds: 60, directives: [], prologue: [], command: "/usr/bin/node /opt/strand/main.js",
};

describe("a runner job", () => {
  it("asks sbatch for one task of `threads` CPUs, the drain signal to the batch shell, and what was given", () => {
    expect(sbatchArgs(spec)).toEqual(["--job-name=strand-runner", "--nodes=1", "--ntasks=1", "--cpus-per-task=8", "--signal=B:TERM@60", "--export=ALL"]);
    const full = sbatchArgs({ ...spec, memoryMiB: 4096, walltime: "1:00:00", partition: "short", account: "proj1", logDirectory: "/scratch/logs", directives: ["--qos=debug"] });
    expect(full).toEqual(expect.arrayContaining(["--mem=4096M", "--time=1:00:00", "--partition=short", "--account=proj1", "--output=/scratch/logs/strand-runner-%j.out"]));
    expect(full.at(-1)).toBe("--qos=debug");
  });

  it("runs the runner in the batch shell's place, joining the head, tagged with the job id, without the token", () => {
    const s = runnerScript({ ...spec, prologue: ["module load nodejs"], memoryMiB: 1000 });
    expect(s.startsWith("#!/bin/sh\n")).toBe(true);
    expect(s).toContain("\nmodule load nodejs\n");
    expect(s).toContain(`exec /usr/bin/node /opt/strand/main.js runner --join 10.0.0.1:7600 --listen 0.0.0.0:0 --threads 8 --grace 50000 --object-memory 300 --tag slurm.job="$SLURM_JOB_ID" --head-timeout 600`);
    expect(s).not.toMatch(/token/i);
  });

  it("leaves the runner time to exit before walltime", () => {
    expect(graceMs(60)).toBe(50_000);
    expect(graceMs(8)).toBe(6_000);
    expect(graceMs(1)).toBe(1000);
  });

  it("reads memory as Slurm writes it", () => {
    expect(memoryMiB("4G")).toBe(4096);
    expect(memoryMiB("4GB")).toBe(4096);
    expect(memoryMiB("512M")).toBe(512);
    expect(memoryMiB("1.5g")).toBe(1536);
    expect(memoryMiB("2048")).toBe(2048);
    expect(memoryMiB(100)).toBe(100);
    expect(() => memoryMiB("lots")).toThrow(TypeError);
    expect(() => memoryMiB(0)).toThrow(TypeError);
  });

  it("quotes shell words that need it", () => {
    expect(shellWord("/usr/bin/node")).toBe("/usr/bin/node");
    expect(shellWord("/My Files/it's")).toBe(`'/My Files/it'\\''s'`);
  });

  it("reads squeue's lines", () => {
    expect(parseSqueue("12 RUNNING\n 13 PENDING \n\n")).toEqual([{ id: "12", state: "RUNNING" }, { id: "13", state: "PENDING" }]);
  });
});
