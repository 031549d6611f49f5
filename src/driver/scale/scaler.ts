// What `cluster.scale(n)` and `cluster.adapt()` ask of whatever starts a cluster's runners
// (Slurm jobs today): the cluster knows its load, the scaler knows how to get machines.

/** Adds and removes a cluster's runners, each started as a job of `threadsPerJob` threads. */
export interface Scaler {
  /**
   * Wants `n` runner jobs in all from now on: submits the missing ones, or cancels the
   * idlest (a cancelled runner drains: its calls finish or go elsewhere). Resolves once
   * the jobs are submitted or cancelled, not once their runners joined. Jobs that end later
   * for any reason (walltime, a node lost) are replaced while `n` says so.
   */
  scale(n: number): Promise<void>;
  /** The number of runner jobs wanted now. */
  readonly wanted: number;
  /** The threads of one job's runner: what adapt() counts a job as. */
  readonly threadsPerJob: number;
}

/** The work in a cluster as adapt() weighs it (see adapt.ts). */
export interface ClusterLoad {
  /** Calls waiting for a runner thread (no runner yet, or all busy). */
  queued: number;
  /** Calls on runners now. */
  inFlight: number;
  /** Threads of the live runners. */
  threads: number;
}

/** What a cluster shows of itself that its load is read from (the Cluster has these). */
export interface LoadSource {
  readonly stats: { readonly queued: number };
  readonly runners: readonly { readonly alive: boolean; readonly inFlight: number; readonly threads: number }[];
}

export function loadOf(source: LoadSource): ClusterLoad {
  let inFlight = 0;
  let threads = 0;
  for (const r of source.runners) {
    if (!r.alive) continue;
    inFlight += r.inFlight;
    threads += r.threads;
  }
  return { queued: source.stats.queued, inFlight, threads };
}
