// The worker pool's module: a job is ~1 ms of integer hashing (xorshift32 rounds from a
// seed), done either by a plain remote call (`work`) or by a pool of goroutines that take
// batches of jobs from one channel and put their results on another (`worker`). Types come from the
// runtime entry (`strand/runtime` in the published package), nothing else from Strand.
import type { Chan } from "../../src/runtime.ts";

export interface Job {
  id: number;
  seed: number;
  /** xorshift rounds: ~600,000 is about 1 ms on a 2020s x86 core. */
  rounds: number;
}

/** A job's answer: its id and its value. */
export type Result = [id: number, value: number];

/** One job: `rounds` xorshift32 steps from the seed; the final state. */
export function work(job: Job): number {
  if (!Number.isInteger(job.rounds) || job.rounds < 0) throw new RangeError(`job ${job.id}: rounds must be a whole number >= 0, got ${job.rounds}`);
  let x = job.seed | 1;
  for (let i = 0; i < job.rounds; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

/** Every job in order, in one call: the single-process baseline. */
export function workAll(jobs: readonly Job[]): number[] {
  return jobs.map(work);
}

/**
 * A worker of the pool: takes batches of jobs until `jobs` is closed and drained, sends each
 * batch's results as one message. A batch of one is Go's plain pool; larger batches pay the
 * two channel operations (a round trip to the channels' home each) once per batch.
 */
export async function worker(jobs: Chan<Job[]>, results: Chan<Result[]>): Promise<{ done: number; pid: number }> {
  let done = 0;
  for await (const batch of jobs) {
    await results.send(batch.map((job): Result => [job.id, work(job)]));
    done += batch.length;
  }
  return { done, pid: process.pid };
}
