/* Strand's MPI for C programs compiled to WebAssembly (wasm32-wasi): `strand cc prog.c -o prog.wasm`,
 * then `strand mpirun -n 4 prog.wasm`. Every function is a host import of the "strand_mpi" module,
 * run by the Strand runner on its communicators. docs/wasm.md describes the ABI. */
#ifndef STRAND_MPI_H
#define STRAND_MPI_H

#ifdef __cplusplus
extern "C" {
#endif

#define STRAND_MPI_IMPORT(name) __attribute__((import_module("strand_mpi"), import_name(#name)))

/* Handles are integers (as in MPIWasm and MPICH). */
typedef int MPI_Comm;
typedef int MPI_Datatype;
typedef int MPI_Op;
typedef int MPI_Request;
typedef int MPI_Group;

#define MPI_SUCCESS 0
#define MPI_COMM_WORLD ((MPI_Comm)1)

STRAND_MPI_IMPORT(MPI_Init) int MPI_Init(int *argc, char ***argv);
STRAND_MPI_IMPORT(MPI_Initialized) int MPI_Initialized(int *flag);
STRAND_MPI_IMPORT(MPI_Finalize) int MPI_Finalize(void);
STRAND_MPI_IMPORT(MPI_Finalized) int MPI_Finalized(int *flag);
STRAND_MPI_IMPORT(MPI_Comm_rank) int MPI_Comm_rank(MPI_Comm comm, int *rank);
STRAND_MPI_IMPORT(MPI_Comm_size) int MPI_Comm_size(MPI_Comm comm, int *size);
STRAND_MPI_IMPORT(MPI_Barrier) int MPI_Barrier(MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Wtime) double MPI_Wtime(void);
STRAND_MPI_IMPORT(MPI_Abort) int MPI_Abort(MPI_Comm comm, int errorcode);

#ifdef __cplusplus
}
#endif
#endif
