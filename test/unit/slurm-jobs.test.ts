import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { idlestJobs, SlurmJobs, type RunnerView } from "../../src/driver/slurm/slurm-jobs.ts";
import type { JobState, SlurmCommands } from "../../src/driver/slurm/slurm-commands.ts";

/** A Slurm in memory: jobs and their states, what was submitted and cancelled. */
class FakeSlurm implements SlurmCommands {
  readonly states = new Map<string, string>();
  readonly cancelled: string[] = [];
  submitted = 0;
  private next = 100;
  /** Runs while squeue is "on the wire": to submit meanwhile. */
  duringSqueue: (() => Promise<void>) | undefined;

  submit(): Promise<string> {
    const id = String(this.next++);
    this.states.set(id, "PENDING");
    this.submitted++;
    return Promise.resolve(id);
  }

  cancel(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      this.cancelled.push(id);
      this.states.set(id, "CANCELLED");
    }
    return Promise.resolve();
  }

  async jobs(): Promise<JobState[]> {
    const answer = [...this.states].map(([id, state]) => ({ id, state }));
    const during = this.duringSqueue;
    this.duringSqueue = undefined;
    await during?.();
    return answer;
  }

  live(): string[] {
    return [...this.states].filter(([, s]) => s === "PENDING" || s === "RUNNING").map(([id]) => id);
  }
}

function jobsOn(slurm: FakeSlurm, runners: RunnerView[] = []): SlurmJobs {
  const j = new SlurmJobs({ commands: slurm, args: [], script: "", env: {}, jobName: "strand-runner", threadsPerJob: 2, pollMs: 60_000, log: pino({ level: "silent" }) });
  j.watch(() => runners);
  return j;
}

const runner = (job: string, inFlight: number): RunnerView => ({ address: `10.0.0.${job}:7700`, tags: ["x=y", `slurm.job=${job}`], inFlight, alive: true });

describe("Slurm runner jobs", () => {
  it("submits jobs up to the count wanted, and cancels down to it", async () => {
    const slurm = new FakeSlurm();
    const jobs = jobsOn(slurm);
    await jobs.scale(3);
    expect(slurm.live()).toHaveLength(3);
    expect(jobs.wanted).toBe(3);
    await jobs.scale(1);
    expect(slurm.live()).toHaveLength(1);
    expect(slurm.cancelled).toHaveLength(2);
    await jobs.close(0);
  });

  it("cancels jobs without a runner first, then the runners with the fewest calls", () => {
    const runners = [runner("1", 5), runner("2", 0), runner("3", 2)];
    expect(idlestJobs(["1", "2", "3", "4"], runners, 1)).toEqual(["4"]);
    expect(idlestJobs(["1", "2", "3", "4"], runners, 3)).toEqual(["4", "2", "3"]);
    expect(idlestJobs(["1", "2"], runners, 0)).toEqual([]);
  });

  it("does not replace the jobs it cancelled", async () => {
    const slurm = new FakeSlurm();
    const jobs = jobsOn(slurm);
    await jobs.scale(2);
    await jobs.scale(1);
    expect(await jobs.poll()).toBe(1); // the cancelled one ended...
    await jobs.scale(1);
    expect(slurm.submitted).toBe(2); // ...and was not replaced
    expect(jobs.ids).toEqual(slurm.live());
    await jobs.close(0);
  });

  it("replaces jobs that end, and forgets purged ones", async () => {
    const slurm = new FakeSlurm();
    const jobs = jobsOn(slurm);
    await jobs.scale(2);
    const [a, b] = slurm.live();
    slurm.states.set(a!, "COMPLETED"); // drained at walltime
    slurm.states.delete(b!); // ended and purged before we asked
    expect(await jobs.poll()).toBe(2);
    expect(slurm.submitted).toBe(4);
    expect(jobs.ids.sort()).toEqual(slurm.live().sort());
    await jobs.close(0);
  });

  it("does not take a job submitted while squeue ran for a purged one", async () => {
    const slurm = new FakeSlurm();
    const jobs = jobsOn(slurm);
    await jobs.scale(1);
    slurm.duringSqueue = async () => {
      await jobs.scale(2);
    };
    expect(await jobs.poll()).toBe(0);
    expect(jobs.ids).toHaveLength(2);
    expect(slurm.submitted).toBe(2);
    await jobs.close(0);
  });

  it("stops replacing jobs that fail before their runner joins, until scale() is called again", async () => {
    const runners: RunnerView[] = [];
    const fresh = new FakeSlurm();
    const j2 = jobsOn(fresh, runners);
    await j2.scale(1);
    for (let i = 0; i < 3; i++) {
      const [id] = fresh.live();
      fresh.states.set(id!, "FAILED");
      await j2.poll();
    }
    expect(fresh.submitted).toBe(3); // the first, and two replacements; the third failure stops it
    expect(fresh.live()).toHaveLength(0);
    await j2.scale(1);
    expect(fresh.live()).toHaveLength(1);
    // A job whose runner joined and then failed is a crash, not a failure to start: replaced.
    const [id] = fresh.live();
    runners.push(runner(id!, 0));
    j2.sawRunners();
    fresh.states.set(id!, "FAILED");
    await j2.poll();
    expect(fresh.live()).toHaveLength(1);
    await j2.close(0);
  });

  it("cancels every job it holds on close, and refuses to scale after", async () => {
    const slurm = new FakeSlurm();
    const jobs = jobsOn(slurm);
    await jobs.scale(3);
    await jobs.close(1000);
    expect(slurm.live()).toEqual([]);
    expect(slurm.cancelled).toHaveLength(3);
    await expect(jobs.scale(1)).rejects.toThrow(/cluster closed/);
  });
});
