import type { Chan } from "./chan.ts";

// What the driver and the ranks of an SPMD job tell each other to start it (as MPI's
// process manager does): each rank says where it listens, the driver answers every rank
// with the whole table, and later with the job's end or abort.

/**
 * A rank is a call of the user's export under this prefix: the runner strips it, takes the
 * rank's descriptor off the end of the arguments, and runs the function as that rank.
 */
export const RANK_EXPORT_PREFIX = "strand:rank:";

/** The last argument of a rank's call. */
export interface RankDescriptor {
  job: string;
  rank: number;
  size: number;
  /** Ranks say hello here (capacity: the job's size). */
  up: Chan<RankHello>;
  /** The driver's news for this rank: the table, then (maybe) an abort; closed when the job ends. */
  down: Chan<JobNews>;
}

export interface RankHello {
  rank: number;
  /** Where this rank accepts connections from ranks on other runners. */
  port: number;
  /** Its thread in the runner: ranks on one thread hand messages over directly. */
  thread: number;
  /** The machine it runs on (host name and boot id): ranks on one node share its CPUs when bound. */
  node?: string;
}

/** Where rank i listens: `runner` (index in the job) tells ranks sharing a process apart from others. */
export interface RankAddress {
  host: string;
  port: number;
  runner: number;
  thread: number;
  node?: string;
}

export type JobNews = { table: RankAddress[] } | { abort: { rank: number; reason: string } };
