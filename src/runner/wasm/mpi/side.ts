// The seam's types (index.ts re-exports them): what the MPI imports get from the rank runtime.

/** One request from the Wasm thread to the rank thread (messages.ts names them all). */
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
  /**
   * Has the rank thread run `req` without waiting for it (sends: once the bytes are off linear
   * memory the buffer is reusable, which is all MPI_Send promises). Requests stay in order; if
   * it fails, the rank fails with its error (the job aborts), as a failed call would. Without
   * it, `call` is used.
   */
  post?(req: MpiRequest, transfer?: ArrayBuffer[]): void;
  /**
   * The instance's exports, once instantiated: user reduction ops (MPI_Op_create) call back
   * into the program through the functions mpi.h exports (strand_mpi_call_op, strand_mpi_alloc,
   * strand_mpi_free). Without it, collectives with a user op fail with MpiError.
   */
  exports?(): WebAssembly.Exports;
}

/** An import's signature: Wasm passes i32 (pointers, ints) and f64 as numbers. */
export type MpiImport = (...args: number[]) => number | void;
