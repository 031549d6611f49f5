import type { ClusterLoad } from "./scaler.ts";

// adapt()'s policy, pure: how many runner jobs the work in a cluster asks for. Like
// dask-jobqueue's Adaptive: up at once when calls wait, down only after the work has stayed
// lower for a few rounds, so a pause between bursts of calls does not cost the runners.

export interface AdaptOptions {
  /** Fewest runner jobs, even with no work (default 0: scale to zero; calls wait for runners). */
  min?: number;
  /** Most runner jobs: required, since every queued call could otherwise ask for a job. */
  max: number;
  /** How often the load is weighed, in ms (default 1000). */
  intervalMs?: number;
  /** Jobs are cancelled only once fewer were wanted this many rounds in a row (default 3). */
  waitCount?: number;
}

export interface AdaptSettings {
  min: number;
  max: number;
  intervalMs: number;
  waitCount: number;
}

/** The options with their defaults, checked; throws a TypeError naming what is wrong. */
export function adaptSettings(o: AdaptOptions): AdaptSettings {
  const s = { min: o.min ?? 0, max: o.max, intervalMs: o.intervalMs ?? 1000, waitCount: o.waitCount ?? 3 };
  const whole = (v: number, name: string, least: number): void => {
    if (!Number.isInteger(v) || v < least) throw new TypeError(`adapt(): ${name} must be a whole number >= ${least}, got ${v}`);
  };
  whole(s.min, "min", 0);
  if (typeof s.max !== "number") throw new TypeError("adapt(): max is required (the most runner jobs to submit)");
  whole(s.max, "max", Math.max(1, s.min));
  whole(s.intervalMs, "intervalMs", 1);
  whole(s.waitCount, "waitCount", 1);
  return s;
}

/** Jobs for the calls waiting and running now: one thread each, between min and max. */
export function jobsFor(load: ClusterLoad, threadsPerJob: number, min: number, max: number): number {
  const wanted = Math.ceil((load.queued + load.inFlight) / threadsPerJob);
  return Math.min(max, Math.max(min, wanted));
}

/** adapt()'s decisions, round by round: the job count to ask for next. */
export class AdaptPolicy {
  /** Rounds in a row that fewer jobs than the current count were wanted. */
  private lower = 0;

  constructor(private readonly s: AdaptSettings) {}

  /** The number of jobs to want now, given the load and the number wanted so far. */
  next(load: ClusterLoad, threadsPerJob: number, current: number): number {
    const target = jobsFor(load, threadsPerJob, this.s.min, this.s.max);
    if (target >= current) {
      this.lower = 0;
      return target;
    }
    // More than max (adapt() called again with a lower one): down to it at once.
    if (current > this.s.max) {
      this.lower = 0;
      return this.s.max;
    }
    if (++this.lower < this.s.waitCount) return current;
    this.lower = 0;
    return target;
  }
}
