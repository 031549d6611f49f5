// The communicator a rank of an SPMD job uses (MPI's MPI_Comm): point-to-point messages and
// collectives between the ranks of `cluster.spmd(...)` / `strand mpirun`. This file is only
// the contract and `comm()`: the runner's worker threads implement it (runner/spmd/) and
// register it under a global symbol, because a user module bundles its own copy of this file.

/** Matches any source rank or any tag in `recv` (MPI_ANY_SOURCE / MPI_ANY_TAG). */
export const ANY = -1;

/**
 * No rank (MPI_PROC_NULL): a send to it does nothing, a receive from it returns at once with
 * an undefined value. Lets the ranks at the edge of a grid run the same exchange as the rest.
 */
export const PROC_NULL = -2;

/** A received message: the value, and the rank and tag it was sent with. */
export interface Message<T = unknown> {
  readonly value: T;
  readonly source: number;
  readonly tag: number;
}

/**
 * How values are combined. The named operations work element by element on typed arrays
 * and arrays of numbers, and on numbers and bigints. A function must be associative; like
 * MPI's built-in operations, the ranks' values may be combined in any order for
 * `reduce`/`allreduce` (so it should be commutative too), but always in rank order for `scan`.
 */
export type ReduceOp<T> = "sum" | "prod" | "min" | "max" | ((a: T, b: T) => T);

/** The ranks of one job, or a group of them made by `split` (MPI_Comm). */
export interface Comm {
  /** This rank's number in the communicator, 0..size-1. */
  readonly rank: number;
  readonly size: number;

  /**
   * Sends `value` to rank `dest` (tag 0 unless given; to `PROC_NULL`, nothing). Resolves once the value has left
   * this rank's memory: the caller may then change what it sent. Messages between a pair
   * of ranks with the same tag arrive in the order they were sent.
   */
  send(dest: number, value: unknown, tag?: number): Promise<void>;
  /** Receives the first message that matches; `ANY` (the default) matches any source or tag; from `PROC_NULL`, `{ value: undefined, source: PROC_NULL }` at once. */
  recv<T = unknown>(source?: number, tag?: number): Promise<Message<T>>;
  /** Same as `send`: every send is non-blocking in JavaScript; await the promise to wait (MPI_Isend + MPI_Wait). */
  isend(dest: number, value: unknown, tag?: number): Promise<void>;
  /** Same as `recv`: the receive is posted when called, so matching follows call order (MPI_Irecv). */
  irecv<T = unknown>(source?: number, tag?: number): Promise<Message<T>>;
  /** Sends to `dest` and receives from `source` at once, without deadlock (MPI_Sendrecv). */
  sendrecv<T = unknown>(dest: number, value: unknown, source: number, sendTag?: number, recvTag?: number): Promise<Message<T>>;

  /** Resolves once every rank has called it. */
  barrier(): Promise<void>;
  /** Every rank gets root's value (the others' `value` is ignored). */
  bcast<T>(value: T | undefined, root?: number): Promise<T>;
  /** Rank i gets root's `values[i]` (root must give `size` values; the others' are ignored). */
  scatter<T>(values: readonly T[] | undefined, root?: number): Promise<T>;
  /** Root gets every rank's value, in rank order; the others get undefined. */
  gather<T>(value: T, root?: number): Promise<T[] | undefined>;
  /** Every rank gets every rank's value, in rank order. */
  allgather<T>(value: T): Promise<T[]>;
  /** Root gets all ranks' values combined with `op`; the others get undefined. */
  reduce<T>(value: T, op: ReduceOp<T>, root?: number): Promise<T | undefined>;
  /** Every rank gets all ranks' values combined with `op`. */
  allreduce<T>(value: T, op: ReduceOp<T>): Promise<T>;
  /** Rank i sends `values[j]` to rank j and gets back what each rank sent it, in rank order. */
  alltoall<T>(values: readonly T[]): Promise<T[]>;
  /** Rank i gets ranks 0..i's values combined with `op`, in rank order (inclusive prefix). */
  scan<T>(value: T, op: ReduceOp<T>): Promise<T>;
  /**
   * Splits the ranks into groups of equal `color`, ordered by `key` then by rank
   * (MPI_Comm_split). Every rank must call it; a negative color joins no group (undefined).
   */
  split(color: number, key?: number): Promise<Comm | undefined>;
}

const kComm = Symbol.for("strand.comm");

/** The communicator of the SPMD rank running now (inside a function started by `spmd`/`mpirun`). */
export function comm(): Comm {
  const current = (globalThis as { [kComm]?: () => Comm | undefined })[kComm];
  const c = current?.();
  if (c === undefined) throw new Error("comm() is only available inside a rank of an SPMD job (cluster.spmd or strand mpirun)");
  return c;
}

/** For the runner's worker threads: where `comm()` finds the running rank's communicator. */
export function provideComm(current: () => Comm | undefined): void {
  (globalThis as { [kComm]?: () => Comm | undefined })[kComm] = current;
}
