import type { Comm } from "../../../comm.ts";
import { MpiAbortError } from "../../../errors.ts";

// The seam between a Wasm rank's two threads. The C program runs on a thread of its own and
// calls MPI as blocking host imports (mpiImports, here); the rank's own runner thread, whose
// event loop carries comm() (runner/spmd/), runs what they ask (mpiExecutor, here). The rank
// runtime (../) starts both and carries requests between them; it knows nothing of MPI.
// Everything crossing between them is structured-cloneable.

/** The import module name the programs' mpi.h (include/mpi.h) declares its functions under. */
export const MPI_IMPORT_MODULE = "strand_mpi";

/** One request from the Wasm thread to the rank thread. */
export interface MpiRequest {
  readonly op: string;
  readonly [field: string]: unknown;
}

/** What the MPI imports need of the Wasm thread they run on (given by the rank runtime). */
export interface WasmSide {
  /** This rank in the job (MPI_COMM_WORLD) and the job's size. */
  readonly rank: number;
  readonly size: number;
  /** The instance's memory. Its buffer is replaced when it grows: take it afresh on each call. */
  memory(): WebAssembly.Memory;
  /**
   * Has the rank thread run `req` (MpiExecutor.run) and blocks this thread until it answers;
   * returns its value, or throws the error it threw. `transfer`: buffers moved, not copied.
   */
  call(req: MpiRequest, transfer?: ArrayBuffer[]): unknown;
}

/** An import's signature: Wasm passes i32 (pointers, ints) and f64 as numbers. */
export type MpiImport = (...args: number[]) => number | void;

/**
 * The host functions of the "strand_mpi" import module. An MPI call that fails throws
 * (MpiError, MpiAbortError…) out through the Wasm frames: the rank runtime fails the rank with
 * it, and the job aborts, as MPI_ERRORS_ARE_FATAL says.
 */
export function mpiImports(side: WasmSide): Record<string, MpiImport> {
  const t0 = performance.now();
  let initialized = false;
  let finalized = false;
  const i32 = (): Int32Array => new Int32Array(side.memory().buffer);
  return {
    MPI_Init: () => {
      initialized = true;
      return 0;
    },
    MPI_Initialized: (flag) => {
      i32()[flag! >>> 2] = initialized ? 1 : 0;
      return 0;
    },
    MPI_Finalize: () => {
      side.call({ op: "barrier" });
      finalized = true;
      return 0;
    },
    MPI_Finalized: (flag) => {
      i32()[flag! >>> 2] = finalized ? 1 : 0;
      return 0;
    },
    MPI_Comm_rank: (_comm, out) => {
      i32()[out! >>> 2] = side.rank;
      return 0;
    },
    MPI_Comm_size: (_comm, out) => {
      i32()[out! >>> 2] = side.size;
      return 0;
    },
    MPI_Barrier: () => {
      side.call({ op: "barrier" });
      return 0;
    },
    MPI_Wtime: () => (performance.now() - t0) / 1000,
    MPI_Abort: (_comm, code) => {
      throw new MpiAbortError(side.rank, code!);
    },
  };
}

/** Runs the Wasm thread's requests on the rank thread, with this rank's world communicator. */
export interface MpiExecutor {
  run(req: MpiRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }>;
  /** The rank ended: requests still pending are dropped. */
  close(): void;
}

export function mpiExecutor(world: Comm): MpiExecutor {
  return {
    async run(req) {
      switch (req.op) {
        case "barrier":
          await world.barrier();
          return { value: undefined };
        default:
          throw new TypeError(`unknown MPI request ${req.op}`);
      }
    },
    close() {},
  };
}
