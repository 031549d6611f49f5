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
 * The element-wise named operations: on typed arrays and arrays element by element, and on
 * numbers and bigints. `land`/`lor`/`lxor` give 1 or 0 (a value is true when it is not 0, as
 * in C; booleans give booleans); `band`/`bor`/`bxor` work on integers only (integer typed
 * arrays, bigints, and numbers that are safe integers), a float typed array is a TypeError.
 */
export type ElementOp = "sum" | "prod" | "min" | "max" | "land" | "lor" | "lxor" | "band" | "bor" | "bxor";

/**
 * MPI_MAXLOC / MPI_MINLOC: the operand is a (value, index) pair, in one of three forms: a pair
 * `[value, index]`; an array of pairs `[[v0, i0], [v1, i1], …]`; or a typed array of even
 * length holding the pairs interleaved `[v0, i0, v1, i1, …]` (an Int32Array is MPI_2INT as it
 * lies in memory; a C layer feeds MPI_DOUBLE_INT, MPI_FLOAT_INT… as a Float64Array). The
 * pair with the greater (maxloc) or smaller (minloc) value wins; on equal values the lower
 * index wins, so the result does not depend on the order values are combined in.
 */
export type LocOp = "maxloc" | "minloc";

/**
 * How values are combined: a named operation, or a function. A function must be associative;
 * like MPI's built-in operations, the ranks' values may be combined in any order for
 * `reduce`/`allreduce`/`reduceScatter` (so it should be commutative too), but always in rank
 * order for `scan`/`exscan`. As in MPI, a single rank's value comes back as it is: nothing is
 * combined (so `land` on one rank's 5 gives 5).
 */
export type ReduceOp<T> = ElementOp | LocOp | ((a: T, b: T) => T);

/** The typed arrays collectives cut into blocks (a Buffer counts as the Uint8Array it is). */
export type TypedArray =
  | Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array | Uint8ClampedArray
  | BigInt64Array | BigUint64Array;

/**
 * What the vector collectives (`gatherv`, `scatterv`, `allgatherv`, `alltoallv`) and
 * `reduceScatter` cut into per-rank blocks: a typed array or an array. Counts and
 * displacements are in elements (MPI's counts and displs in units of the datatype).
 */
export type Vector = TypedArray | unknown[];

/**
 * What a message holds, as `probe` describes it: a typed array's element type (by its class
 * name; a Buffer is a "Uint8Array"), raw bytes, an array, or any other value.
 */
export type ValueKind = TypedArray[typeof Symbol.toStringTag] | "ArrayBuffer" | "DataView" | "array" | "value";

/**
 * A message waiting to be received (MPI_Status, from `probe`/`iprobe`): who sent it, with
 * which tag, and how big it is. `bytes`: a typed array's, ArrayBuffer's or DataView's
 * byteLength (so a C layer's MPI_Get_count is bytes / type size); for any other value, the
 * size of its encoding. `count`: a typed array's or array's length, an ArrayBuffer's or
 * DataView's byteLength, 1 for any other value (0 for `PROC_NULL`).
 */
export interface Status {
  readonly source: number;
  readonly tag: number;
  readonly bytes: number;
  readonly kind: ValueKind;
  readonly count: number;
}

/** How a request ended: with its value, or cancelled (MPI_Test_cancelled) without one. */
export type Completion<T> =
  | { readonly cancelled: false; readonly value: T }
  | { readonly cancelled: true; readonly value: undefined };

/**
 * A pending `isend` or `irecv` (MPI_Request). It is a Promise (await it as before: a cancelled
 * receive rejects with CancelledError), that can also be looked at without waiting.
 */
export interface Request<T> extends Promise<T> {
  /**
   * MPI_Test: undefined while pending, else how it ended; throws the error it failed with
   * (JobAbortedError, say). A receive is done the moment a message matches it.
   */
  test(): Completion<T> | undefined;
  /**
   * MPI_Cancel. A receive that no message has matched yet is withdrawn from the mailbox
   * (no later message can match it): it then completes as cancelled (test() gives
   * `{ cancelled: true }`, awaiting it rejects with CancelledError) and cancel() returns true.
   * A receive already matched, a finished request, and any send (a send is on its way the
   * moment it is made) are not cancelled: false, and the request completes as it would have.
   */
  cancel(): boolean;
}

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
  /** `send` as a Request (MPI_Isend): every send is non-blocking in JavaScript; await it, or test it, to know it is done. */
  isend(dest: number, value: unknown, tag?: number): Request<void>;
  /** `recv` as a Request (MPI_Irecv): the receive is posted when called (matching follows call order), and can be tested and cancelled. */
  irecv<T = unknown>(source?: number, tag?: number): Request<Message<T>>;
  /** Sends to `dest` and receives from `source` at once, without deadlock (MPI_Sendrecv). */
  sendrecv<T = unknown>(dest: number, value: unknown, source: number, sendTag?: number, recvTag?: number): Promise<Message<T>>;
  /**
   * Waits for a message that matches (`ANY` by default) and describes it without receiving it
   * (MPI_Probe): it stays queued, and the next receive that matches it (say, one with the
   * status's source and tag) gets exactly that message. From `PROC_NULL`: at once, count 0.
   */
  probe(source?: number, tag?: number): Promise<Status>;
  /** `probe` without waiting (MPI_Iprobe): a message that has arrived by now, or undefined. */
  iprobe(source?: number, tag?: number): Status | undefined;

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
  /** Rank i > 0 gets ranks 0..i-1's values combined with `op`, in rank order (MPI_Exscan); rank 0 gets undefined. */
  exscan<T>(value: T, op: ReduceOp<T>): Promise<T | undefined>;
  /**
   * MPI_Reduce_scatter: every rank gives `values` of sum(counts) elements; they are combined
   * element by element (a function gets two blocks and returns their combination) and rank i
   * gets block i, `counts[i]` elements, as a new vector of the same kind. Without `counts`
   * (MPI_Reduce_scatter_block) the blocks are equal: `values.length` must be a multiple of size.
   * With maxloc/minloc on a typed array of interleaved pairs, counts are in elements: two per pair.
   */
  reduceScatter<V extends Vector>(values: V, op: ReduceOp<V>, counts?: readonly number[]): Promise<V>;
  /**
   * MPI_Gatherv: every rank gives its block; root gets one vector (of root's block's kind)
   * holding rank i's block at `displs[i]` (default: the blocks one after the other), which
   * must have `counts[i]` elements. `counts` and `displs` matter at the root only; the
   * vector's length is the greatest displs[i] + counts[i]; elements no block covers are 0 (or
   * undefined in an array). The others get undefined.
   */
  gatherv<V extends Vector>(value: V, counts: readonly number[] | undefined, root?: number, displs?: readonly number[]): Promise<V | undefined>;
  /**
   * MPI_Scatterv: rank i gets a copy of root's `values` from `displs[i]` (default: the blocks
   * one after the other), `counts[i]` elements. `values`, `counts` and `displs` matter at the root only.
   */
  scatterv<V extends Vector>(values: V | undefined, counts: readonly number[] | undefined, root?: number, displs?: readonly number[]): Promise<V>;
  /** MPI_Allgatherv: `gatherv` where every rank is the root (every rank gives the same `counts` and `displs`). */
  allgatherv<V extends Vector>(value: V, counts: readonly number[], displs?: readonly number[]): Promise<V>;
  /**
   * MPI_Alltoallv: sends `values` from `sendDispls[j]`, `sendCounts[j]` elements, to rank j;
   * returns one vector (of `values`' kind) holding what rank j sent at `recvDispls[j]`, which
   * must be `recvCounts[j]` elements. Displacements default to the blocks one after the other.
   */
  alltoallv<V extends Vector>(values: V, sendCounts: readonly number[], recvCounts: readonly number[], sendDispls?: readonly number[], recvDispls?: readonly number[]): Promise<V>;
  /**
   * Splits the ranks into groups of equal `color`, ordered by `key` then by rank
   * (MPI_Comm_split). Every rank must call it; a negative color joins no group (undefined).
   */
  split(color: number, key?: number): Promise<Comm | undefined>;
}

/** One request's completion and its place in the list (MPI_Waitany / MPI_Testany's index). */
export type Indexed<T> = Completion<T> & { readonly index: number };

/** The completions of a list of requests, each of its own type. */
export type Completions<R extends readonly Request<unknown>[]> = { -readonly [K in keyof R]: Completion<Awaited<R[K]>> };

function checkRequests(reqs: unknown, where: string): asserts reqs is readonly Request<unknown>[] {
  if (!Array.isArray(reqs)) throw new TypeError(`${where}: reqs must be an array of requests (from isend/irecv)`);
  reqs.forEach((r: unknown, i) => {
    if (typeof (r as Partial<Request<unknown>> | null)?.test !== "function") throw new TypeError(`${where}: reqs[${i}] is not a request (from isend/irecv)`);
  });
}

/** A request's completion once it settles: a cancel is a completion, any other failure rejects. */
function completion<T>(r: Request<T>): Promise<Completion<T>> {
  return r.then((value) => ({ cancelled: false, value }), (err: unknown) => {
    const c = r.test();
    if (c?.cancelled === true) return c;
    throw err;
  });
}

/**
 * MPI_Testall: every request's completion if all are done, else undefined (and none is
 * consumed: test them again later). Throws the error of one that failed.
 */
export function testAll<R extends readonly Request<unknown>[]>(reqs: R): Completions<R> | undefined {
  checkRequests(reqs, "testAll");
  const out = reqs.map((r) => r.test());
  return out.includes(undefined) ? undefined : (out as Completions<R>);
}

/** MPI_Testany: the first done request (lowest index), or undefined if none is. */
export function testAny<T>(reqs: readonly Request<T>[]): Indexed<T> | undefined {
  checkRequests(reqs, "testAny");
  for (const [index, r] of reqs.entries()) {
    const c = r.test();
    if (c !== undefined) return { ...c, index };
  }
  return undefined;
}

/**
 * MPI_Waitany: the first request to complete (if several are done already, the lowest index),
 * with its index; a cancelled receive counts as completed. Rejects with the error of a
 * request that fails first. An empty list resolves undefined (MPI's MPI_UNDEFINED).
 */
export async function waitAny<T>(reqs: readonly Request<T>[]): Promise<Indexed<T> | undefined> {
  const done = testAny(reqs);
  if (done !== undefined || reqs.length === 0) return done;
  return Promise.race(reqs.map((r, index) => completion(r).then((c) => ({ ...c, index }))));
}

/** MPI_Waitall: every request's completion, in order (a cancelled receive included); rejects with the first failure. */
export function waitAll<R extends readonly Request<unknown>[]>(reqs: R): Promise<Completions<R>> {
  try {
    checkRequests(reqs, "waitAll");
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return Promise.all(reqs.map((r) => completion(r))) as Promise<Completions<R>>;
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
