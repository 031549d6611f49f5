import { collectiveImports } from "./collectives.ts";
import { commImports } from "./communicators.ts";
import { environmentImports } from "./environment.ts";
import { p2pImports } from "./p2p.ts";
import { RankState } from "./rank-state.ts";
import { requestImports } from "./requests.ts";
import type { MpiImport, WasmSide } from "./side.ts";
import { opImports } from "./user-ops.ts";

// The seam between a Wasm rank's two threads. The C program runs on a thread of its own and
// calls MPI as blocking host imports (mpiImports, here); the rank's own runner thread, whose
// event loop carries comm() (runner/spmd/), runs what they ask (mpiExecutor, executor.ts). The
// rank runtime (../) starts both and carries requests between them; it knows nothing of MPI.
// Everything crossing between them is structured-cloneable (messages.ts names it all).

export type { MpiImport, MpiRequest, WasmSide } from "./side.ts";
export { mpiExecutor, type MpiExecutor } from "./executor.ts";

/** The import module name the programs' mpi.h (include/mpi.h) declares its functions under. */
export const MPI_IMPORT_MODULE = "strand_mpi";

/**
 * The host functions of the "strand_mpi" import module. An MPI call that fails throws
 * (MpiError, MpiAbortError…) out through the Wasm frames: the rank runtime fails the rank with
 * it, and the job aborts, as MPI_ERRORS_ARE_FATAL says.
 */
export function mpiImports(side: WasmSide): Record<string, MpiImport> {
  const st = new RankState(side);
  return {
    ...environmentImports(st),
    ...commImports(st),
    ...p2pImports(st),
    ...requestImports(st),
    ...collectiveImports(st),
    ...opImports(st),
  };
}
