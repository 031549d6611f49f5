import type { Logger } from "pino";
import type { Scaler } from "../scale/scaler.ts";
import { hasEnded, hasFailed, type JobState, type SlurmCommands } from "./slurm-commands.ts";

// The runner jobs of one cluster: how many are wanted, which Slurm holds, which runner is
// which job's. Jobs that end while wanted (walltime, a node lost, someone's scancel) are
// replaced; scale() down cancels the idlest; close() cancels them all.

/** A runner as the jobs see it: its address, its labels (`slurm.job=<id>`), its calls. */
export interface RunnerView {
  address: string;
  tags: readonly string[];
  inFlight: number;
  alive: boolean;
}

export interface SlurmJobsOptions {
  commands: SlurmCommands;
  /** sbatch's options and the script of one runner job (runner-job.ts). */
  args: readonly string[];
  script: string;
  /** The jobs' environment: the token and TLS are in it. */
  env: NodeJS.ProcessEnv;
  jobName: string;
  threadsPerJob: number;
  /** How often squeue is asked how the jobs are (ms). */
  pollMs: number;
  /** Jobs that fail in a row before replacing stops until the next scale() (a runner that cannot start). */
  maxFailures?: number;
  log: Logger;
}

interface Job {
  id: string;
  /** The Slurm state last seen (PENDING until squeue says otherwise). */
  state: string;
  /** We cancelled it: not replaced when it ends. */
  cancelled: boolean;
  /** Its runner joined the cluster once (a job that ends failed after that is not a failure to start). */
  joined: boolean;
  /** Submissions before it: a squeue started before it was submitted cannot know it. */
  seq: number;
}

const TAG = "slurm.job=";

/** The job id a runner carries in its tags, if it is a Slurm runner. */
export function jobOf(runner: { tags: readonly string[] }): string | undefined {
  return runner.tags.find((t) => t.startsWith(TAG))?.slice(TAG.length);
}

/**
 * The `k` jobs to cancel to scale down: first those with no runner yet (pending in the
 * queue, or starting), then those whose runner has the fewest calls.
 */
export function idlestJobs(jobs: readonly string[], runners: readonly RunnerView[], k: number): string[] {
  const load = new Map<string, number>();
  for (const r of runners) {
    const id = jobOf(r);
    if (id !== undefined && r.alive) load.set(id, r.inFlight);
  }
  const cost = (id: string): number => load.get(id) ?? -1;
  return [...jobs].sort((a, b) => cost(a) - cost(b) || Number(b) - Number(a)).slice(0, Math.max(0, k));
}

export class SlurmJobs implements Scaler {
  private wantedJobs = 0;
  private readonly jobs = new Map<string, Job>();
  /** Jobs that ended failed in a row (see maxFailures). */
  private failures = 0;
  private readonly maxFailures: number;
  private runners: () => readonly RunnerView[] = () => [];
  private reconciling: Promise<void> = Promise.resolve();
  private polling: Promise<void> | undefined;
  private submitted = 0;
  private readonly timer: NodeJS.Timeout;
  /** A runner left: its job is ending, and squeue is asked more often until it has. */
  private soon: NodeJS.Timeout | undefined;
  private gone = 0;
  private soonRounds = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly o: SlurmJobsOptions) {
    this.maxFailures = o.maxFailures ?? 3;
    this.timer = setInterval(() => void this.poll(), o.pollMs);
    this.timer.unref();
  }

  get wanted(): number {
    return this.wantedJobs;
  }

  get threadsPerJob(): number {
    return this.o.threadsPerJob;
  }

  /** The ids of the jobs Slurm holds for us that we did not cancel. */
  get ids(): string[] {
    return [...this.jobs.values()].filter((j) => !j.cancelled).map((j) => j.id);
  }

  /** Every job Slurm may still hold for us, cancelled ones included (what close() cancels). */
  get held(): string[] {
    return this.closing === undefined ? [...this.jobs.keys()] : [];
  }

  /** Where the runners are seen (the cluster's), for scale-down and to know a runner started. */
  watch(runners: () => readonly RunnerView[]): void {
    this.runners = runners;
  }

  /** A runner left or was lost: its job is likely ending; ask Slurm soon, and again until it is gone. */
  runnerGone(): void {
    if (this.closing !== undefined) return;
    this.gone++;
    this.soonRounds = 0;
    this.soon ??= setInterval(() => {
      void this.poll().then((ended) => {
        this.gone -= ended;
        // A runner lost to a network blip may come back: its job never ends, so not forever.
        if ((this.gone <= 0 || ++this.soonRounds >= 40) && this.soon !== undefined) {
          clearInterval(this.soon);
          this.soon = undefined;
          this.gone = 0;
        }
      });
    }, Math.min(250, this.o.pollMs));
    this.soon.unref();
  }

  scale(n: number): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new Error("scale(): the Slurm jobs are being cancelled (the cluster closed)"));
    this.wantedJobs = n;
    this.failures = 0;
    return this.reconcile();
  }

  /** Submits or cancels until the jobs we hold are the jobs wanted; one round at a time. */
  private reconcile(): Promise<void> {
    // Rounds queue behind each other; the latest wanted count is read when each starts.
    const round = this.reconciling.then(async () => {
      if (this.closing !== undefined) return;
      const live = this.ids;
      const missing = this.wantedJobs - live.length;
      if (missing > 0) {
        if (this.failures >= this.maxFailures) return;
        await this.submit(missing);
      } else if (missing < 0) {
        await this.cancel(idlestJobs(live, this.runners(), -missing));
      }
    });
    this.reconciling = round.catch(() => {});
    return round;
  }

  private async submit(n: number): Promise<void> {
    // A few sbatch at a time: slurmctld serves everyone on the cluster.
    const batch = 4;
    for (let i = 0; i < n; i += batch) {
      const tries = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => this.o.commands.submit(this.o.args, this.o.script, this.o.env)));
      // Every job that was submitted is kept (and cancelled on close), even if another sbatch failed.
      const ids = tries.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
      for (const id of ids) this.jobs.set(id, { id, state: "PENDING", cancelled: false, joined: false, seq: ++this.submitted });
      if (ids.length > 0) this.o.log.info({ jobs: ids }, "runner jobs submitted");
      const failed = tries.find((t) => t.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    }
  }

  private async cancel(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) this.jobs.get(id)!.cancelled = true;
    this.o.log.info({ jobs: ids }, "runner jobs cancelled");
    await this.o.commands.cancel(ids);
  }

  /**
   * Asks Slurm how the jobs are; forgets ended ones and replaces them while wanted.
   * Resolves with how many ended, once their replacements are submitted.
   */
  poll(): Promise<number> {
    if (this.polling !== undefined) return this.polling.then(() => 0);
    const known = this.submitted;
    const p = (async (): Promise<number> => {
      try {
        let states: JobState[];
        try {
          states = await this.o.commands.jobs(this.o.jobName);
        } catch (err) {
          this.o.log.warn({ err: (err as Error).message }, "squeue failed: runner jobs not checked this round");
          return 0;
        }
        const { ended, replace } = this.update(states, known);
        if (replace) await this.reconcile().catch((err: Error) => this.o.log.error({ err: err.message }, "could not replace runner jobs"));
        return ended;
      } finally {
        this.polling = undefined;
      }
    })();
    this.polling = p.then(() => {});
    return p;
  }

  /** Marks the jobs whose runner is in the cluster now (called as runners join, and every poll). */
  sawRunners(): void {
    for (const r of this.runners()) {
      const job = this.jobs.get(jobOf(r) ?? "");
      if (job !== undefined) job.joined = true;
    }
  }

  /** `known`: jobs submitted when squeue was asked; later ones are not in its answer. */
  private update(states: readonly JobState[], known: number): { ended: number; replace: boolean } {
    const seen = new Map(states.map((s) => [s.id, s.state]));
    this.sawRunners();
    let ended = 0;
    let replace = false;
    for (const job of [...this.jobs.values()]) {
      if (job.seq > known) continue;
      // Missing from squeue: purged after it ended (sbatch returns once slurmctld holds the job, so never "not yet").
      const state = seen.get(job.id) ?? "GONE";
      job.state = state;
      if (state !== "GONE" && !hasEnded(state)) continue;
      this.jobs.delete(job.id);
      ended++;
      if (job.cancelled) continue;
      if (hasFailed(state) && !job.joined) this.failures++;
      else this.failures = 0;
      this.o.log.warn({ job: job.id, state }, "runner job ended");
      if (this.failures === this.maxFailures) this.o.log.error({ failures: this.failures }, "runner jobs keep failing before their runner joins: not replacing them until scale() is called (see the jobs' output)");
      replace = true;
    }
    return { ended, replace: replace && this.closing === undefined };
  }

  /** The states last seen, by job id (for tests and `strand slurm`'s messages). */
  get states(): Map<string, string> {
    return new Map([...this.jobs.values()].map((j) => [j.id, j.state]));
  }

  /**
   * Cancels every job submitted and waits (up to `waitMs`) until Slurm says they ended:
   * their runners drained (no driver is left) and exited.
   */
  close(waitMs = 60_000): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      if (this.soon !== undefined) clearInterval(this.soon);
      await this.reconciling;
      await this.polling;
      const ids = [...this.jobs.keys()];
      if (ids.length === 0) return;
      await this.o.commands.cancel(ids).catch((err: Error) => this.o.log.error({ err: err.message, jobs: ids }, "scancel failed: cancel these jobs by hand"));
      const deadline = Date.now() + waitMs;
      for (;;) {
        const states = await this.o.commands.jobs(this.o.jobName).catch(() => undefined);
        // COMPLETING: Slurm is still stopping its processes.
        const left = states?.filter((s) => this.jobs.has(s.id) && (!hasEnded(s.state) || s.state === "COMPLETING")) ?? [];
        if (states !== undefined && left.length === 0) return;
        if (Date.now() > deadline) {
          this.o.log.warn({ jobs: left.map((s) => s.id) }, "runner jobs still there after scancel");
          return;
        }
        // squeue is the only one who knows: nothing announces a job's end to us.
        await new Promise((r) => setTimeout(r, Math.min(250, this.o.pollMs)));
      }
    })();
    return this.closing;
  }
}
