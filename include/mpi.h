/* Strand's MPI for C programs compiled to WebAssembly (wasm32-wasi): `strand cc prog.c -o prog.wasm`,
 * then `strand mpirun -n 4 prog.wasm`. Every function is a host import of the "strand_mpi" module,
 * run by the Strand runner on its communicators. docs/wasm.md ("The MPI ABI") describes the ABI;
 * the numbers below must match src/runner/wasm/mpi/abi.ts. */
#ifndef STRAND_MPI_H
#define STRAND_MPI_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRAND_MPI_IMPORT(name) __attribute__((import_module("strand_mpi"), import_name(#name)))

#define MPI_VERSION 3
#define MPI_SUBVERSION 1

/* Handles are integers (as in MPIWasm and MPICH). */
typedef int MPI_Comm;
typedef int MPI_Datatype;
typedef int MPI_Op;
typedef int MPI_Request;
typedef int MPI_Group;
typedef int MPI_Info;
typedef int MPI_Errhandler;
typedef long MPI_Aint;
typedef long long MPI_Offset;
typedef long long MPI_Count;

/* 20 bytes: the three public fields, then the received size in bytes and the cancelled flag. */
typedef struct MPI_Status {
  int MPI_SOURCE;
  int MPI_TAG;
  int MPI_ERROR;
  int _count;
  int _cancelled;
} MPI_Status;

typedef void MPI_User_function(void *invec, void *inoutvec, int *len, MPI_Datatype *datatype);

/* Return codes. Errors are fatal (MPI_ERRORS_ARE_FATAL): a failing call aborts the job with a
 * message naming the call and the rank, so calls return MPI_SUCCESS. */
#define MPI_SUCCESS 0
#define MPI_ERR_BUFFER 1
#define MPI_ERR_COUNT 2
#define MPI_ERR_TYPE 3
#define MPI_ERR_TAG 4
#define MPI_ERR_COMM 5
#define MPI_ERR_RANK 6
#define MPI_ERR_REQUEST 7
#define MPI_ERR_ROOT 8
#define MPI_ERR_GROUP 9
#define MPI_ERR_OP 10
#define MPI_ERR_ARG 13
#define MPI_ERR_UNKNOWN 14
#define MPI_ERR_TRUNCATE 15
#define MPI_ERR_OTHER 16
#define MPI_ERR_INTERN 17
#define MPI_ERR_IN_STATUS 18
#define MPI_ERR_PENDING 19
#define MPI_ERR_NO_MEM 34
#define MPI_ERR_LASTCODE 100

#define MPI_ERRORS_ARE_FATAL ((MPI_Errhandler)1)
#define MPI_ERRORS_RETURN ((MPI_Errhandler)2)

/* Special ranks, tags and values. */
#define MPI_ANY_SOURCE (-1)
#define MPI_ANY_TAG (-1)
#define MPI_PROC_NULL (-2)
#define MPI_ROOT (-3)
#define MPI_UNDEFINED (-32766)
#define MPI_TAG_UB_VALUE 2147483647
#define MPI_IN_PLACE ((void *)-1)
#define MPI_BOTTOM ((void *)0)
#define MPI_STATUS_IGNORE ((MPI_Status *)0)
#define MPI_STATUSES_IGNORE ((MPI_Status *)0)
#define MPI_INFO_NULL ((MPI_Info)0)
#define MPI_MAX_PROCESSOR_NAME 256
#define MPI_MAX_LIBRARY_VERSION_STRING 256
#define MPI_MAX_ERROR_STRING 256

/* Results of MPI_Comm_compare and MPI_Group_compare. */
#define MPI_IDENT 0
#define MPI_CONGRUENT 1
#define MPI_SIMILAR 2
#define MPI_UNEQUAL 3

/* Communicators, groups, requests, ops. */
#define MPI_COMM_NULL ((MPI_Comm)0)
#define MPI_COMM_WORLD ((MPI_Comm)1)
#define MPI_COMM_SELF ((MPI_Comm)2)
#define MPI_GROUP_NULL ((MPI_Group)0)
#define MPI_GROUP_EMPTY ((MPI_Group)1)
#define MPI_REQUEST_NULL ((MPI_Request)0)
#define MPI_OP_NULL ((MPI_Op)0)
#define MPI_MAX ((MPI_Op)1)
#define MPI_MIN ((MPI_Op)2)
#define MPI_SUM ((MPI_Op)3)
#define MPI_PROD ((MPI_Op)4)
#define MPI_LAND ((MPI_Op)5)
#define MPI_BAND ((MPI_Op)6)
#define MPI_LOR ((MPI_Op)7)
#define MPI_BOR ((MPI_Op)8)
#define MPI_LXOR ((MPI_Op)9)
#define MPI_BXOR ((MPI_Op)10)
#define MPI_MAXLOC ((MPI_Op)11)
#define MPI_MINLOC ((MPI_Op)12)

/* Datatypes (sizes as in wasm32: long and pointers are 4 bytes). */
#define MPI_DATATYPE_NULL ((MPI_Datatype)0)
#define MPI_CHAR ((MPI_Datatype)1)
#define MPI_SIGNED_CHAR ((MPI_Datatype)2)
#define MPI_UNSIGNED_CHAR ((MPI_Datatype)3)
#define MPI_BYTE ((MPI_Datatype)4)
#define MPI_SHORT ((MPI_Datatype)5)
#define MPI_UNSIGNED_SHORT ((MPI_Datatype)6)
#define MPI_INT ((MPI_Datatype)7)
#define MPI_UNSIGNED ((MPI_Datatype)8)
#define MPI_LONG ((MPI_Datatype)9)
#define MPI_UNSIGNED_LONG ((MPI_Datatype)10)
#define MPI_LONG_LONG ((MPI_Datatype)11)
#define MPI_LONG_LONG_INT MPI_LONG_LONG
#define MPI_UNSIGNED_LONG_LONG ((MPI_Datatype)12)
#define MPI_FLOAT ((MPI_Datatype)13)
#define MPI_DOUBLE ((MPI_Datatype)14)
#define MPI_C_BOOL ((MPI_Datatype)15)
#define MPI_INT8_T ((MPI_Datatype)16)
#define MPI_INT16_T ((MPI_Datatype)17)
#define MPI_INT32_T ((MPI_Datatype)18)
#define MPI_INT64_T ((MPI_Datatype)19)
#define MPI_UINT8_T ((MPI_Datatype)20)
#define MPI_UINT16_T ((MPI_Datatype)21)
#define MPI_UINT32_T ((MPI_Datatype)22)
#define MPI_UINT64_T ((MPI_Datatype)23)
#define MPI_WCHAR ((MPI_Datatype)24)
#define MPI_AINT ((MPI_Datatype)25)
#define MPI_OFFSET ((MPI_Datatype)26)
#define MPI_COUNT ((MPI_Datatype)27)
/* The pair types of MAXLOC and MINLOC: a value, then an int index (struct layout, padding included). */
#define MPI_FLOAT_INT ((MPI_Datatype)30)
#define MPI_DOUBLE_INT ((MPI_Datatype)31)
#define MPI_LONG_INT ((MPI_Datatype)32)
#define MPI_2INT ((MPI_Datatype)33)
#define MPI_SHORT_INT ((MPI_Datatype)34)

/* Environment. */
STRAND_MPI_IMPORT(MPI_Init) int MPI_Init(int *argc, char ***argv);
STRAND_MPI_IMPORT(MPI_Init_thread) int MPI_Init_thread(int *argc, char ***argv, int required, int *provided);
STRAND_MPI_IMPORT(MPI_Initialized) int MPI_Initialized(int *flag);
STRAND_MPI_IMPORT(MPI_Finalize) int MPI_Finalize(void);
STRAND_MPI_IMPORT(MPI_Finalized) int MPI_Finalized(int *flag);
STRAND_MPI_IMPORT(MPI_Abort) int MPI_Abort(MPI_Comm comm, int errorcode);
STRAND_MPI_IMPORT(MPI_Wtime) double MPI_Wtime(void);
STRAND_MPI_IMPORT(MPI_Wtick) double MPI_Wtick(void);
STRAND_MPI_IMPORT(MPI_Get_version) int MPI_Get_version(int *version, int *subversion);
STRAND_MPI_IMPORT(MPI_Get_library_version) int MPI_Get_library_version(char *version, int *resultlen);
STRAND_MPI_IMPORT(MPI_Get_processor_name) int MPI_Get_processor_name(char *name, int *resultlen);
#define MPI_THREAD_SINGLE 0
#define MPI_THREAD_FUNNELED 1
#define MPI_THREAD_SERIALIZED 2
#define MPI_THREAD_MULTIPLE 3

/* Memory: plain malloc/free in the rank's own linear memory. */
static inline int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr) {
  (void)info;
  void *p = malloc(size > 0 ? (size_t)size : 1);
  if (p == NULL) return MPI_ERR_NO_MEM;
  *(void **)baseptr = p;
  return MPI_SUCCESS;
}
static inline int MPI_Free_mem(void *base) {
  free(base);
  return MPI_SUCCESS;
}

/* Communicators and groups. */
STRAND_MPI_IMPORT(MPI_Comm_rank) int MPI_Comm_rank(MPI_Comm comm, int *rank);
STRAND_MPI_IMPORT(MPI_Comm_size) int MPI_Comm_size(MPI_Comm comm, int *size);
STRAND_MPI_IMPORT(MPI_Comm_split) int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm *newcomm);
STRAND_MPI_IMPORT(MPI_Comm_dup) int MPI_Comm_dup(MPI_Comm comm, MPI_Comm *newcomm);
STRAND_MPI_IMPORT(MPI_Comm_create) int MPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm *newcomm);
STRAND_MPI_IMPORT(MPI_Comm_compare) int MPI_Comm_compare(MPI_Comm comm1, MPI_Comm comm2, int *result);
STRAND_MPI_IMPORT(MPI_Comm_free) int MPI_Comm_free(MPI_Comm *comm);
STRAND_MPI_IMPORT(MPI_Comm_group) int MPI_Comm_group(MPI_Comm comm, MPI_Group *group);
STRAND_MPI_IMPORT(MPI_Group_size) int MPI_Group_size(MPI_Group group, int *size);
STRAND_MPI_IMPORT(MPI_Group_rank) int MPI_Group_rank(MPI_Group group, int *rank);
STRAND_MPI_IMPORT(MPI_Group_free) int MPI_Group_free(MPI_Group *group);
STRAND_MPI_IMPORT(MPI_Group_incl) int MPI_Group_incl(MPI_Group group, int n, const int ranks[], MPI_Group *newgroup);
STRAND_MPI_IMPORT(MPI_Group_range_incl) int MPI_Group_range_incl(MPI_Group group, int n, int ranges[][3], MPI_Group *newgroup);
STRAND_MPI_IMPORT(MPI_Group_translate_ranks) int MPI_Group_translate_ranks(MPI_Group group1, int n, const int ranks1[], MPI_Group group2, int ranks2[]);
STRAND_MPI_IMPORT(MPI_Group_compare) int MPI_Group_compare(MPI_Group group1, MPI_Group group2, int *result);

/* Datatypes. */
STRAND_MPI_IMPORT(MPI_Type_size) int MPI_Type_size(MPI_Datatype datatype, int *size);
STRAND_MPI_IMPORT(MPI_Type_get_extent) int MPI_Type_get_extent(MPI_Datatype datatype, MPI_Aint *lb, MPI_Aint *extent);
STRAND_MPI_IMPORT(MPI_Type_contiguous) int MPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype *newtype);
STRAND_MPI_IMPORT(MPI_Type_commit) int MPI_Type_commit(MPI_Datatype *datatype);
STRAND_MPI_IMPORT(MPI_Type_free) int MPI_Type_free(MPI_Datatype *datatype);

/* Point to point. */
STRAND_MPI_IMPORT(MPI_Send) int MPI_Send(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Ssend) int MPI_Ssend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Recv) int MPI_Recv(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Sendrecv) int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                                                 void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                                                 MPI_Comm comm, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Isend) int MPI_Isend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
STRAND_MPI_IMPORT(MPI_Irecv) int MPI_Irecv(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Request *request);
STRAND_MPI_IMPORT(MPI_Probe) int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Iprobe) int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Get_count) int MPI_Get_count(const MPI_Status *status, MPI_Datatype datatype, int *count);
STRAND_MPI_IMPORT(MPI_Get_elements) int MPI_Get_elements(const MPI_Status *status, MPI_Datatype datatype, int *count);

/* Requests. */
STRAND_MPI_IMPORT(MPI_Wait) int MPI_Wait(MPI_Request *request, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Waitall) int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[]);
STRAND_MPI_IMPORT(MPI_Waitany) int MPI_Waitany(int count, MPI_Request requests[], int *index, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Test) int MPI_Test(MPI_Request *request, int *flag, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Testall) int MPI_Testall(int count, MPI_Request requests[], int *flag, MPI_Status statuses[]);
STRAND_MPI_IMPORT(MPI_Testany) int MPI_Testany(int count, MPI_Request requests[], int *index, int *flag, MPI_Status *status);
STRAND_MPI_IMPORT(MPI_Cancel) int MPI_Cancel(MPI_Request *request);
STRAND_MPI_IMPORT(MPI_Test_cancelled) int MPI_Test_cancelled(const MPI_Status *status, int *flag);
STRAND_MPI_IMPORT(MPI_Request_free) int MPI_Request_free(MPI_Request *request);

/* Collectives. */
STRAND_MPI_IMPORT(MPI_Barrier) int MPI_Barrier(MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Bcast) int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Reduce) int MPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, int root, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Allreduce) int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Scan) int MPI_Scan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Exscan) int MPI_Exscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Reduce_scatter) int MPI_Reduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[], MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Reduce_scatter_block) int MPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Gather) int MPI_Gather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Gatherv) int MPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Scatter) int MPI_Scatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Scatterv) int MPI_Scatterv(const void *sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Allgather) int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Allgatherv) int MPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Alltoall) int MPI_Alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm);
STRAND_MPI_IMPORT(MPI_Alltoallv) int MPI_Alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm);

/* Operations. A user function is called on the rank's own Wasm thread (docs/wasm.md). */
STRAND_MPI_IMPORT(MPI_Op_create) int MPI_Op_create(MPI_User_function *user_fn, int commute, MPI_Op *op);
STRAND_MPI_IMPORT(MPI_Op_free) int MPI_Op_free(MPI_Op *op);

/* What the runner calls back into: user ops run in C (the runner cannot call through a C function
 * pointer), on scratch memory from the program's own malloc. Weak, so every file may include this. */
__attribute__((weak, export_name("strand_mpi_call_op"))) void strand_mpi_call_op(MPI_User_function *fn, void *in, void *inout, int *len, MPI_Datatype *type) {
  fn(in, inout, len, type);
}
__attribute__((weak, export_name("strand_mpi_alloc"))) void *strand_mpi_alloc(size_t n) { return malloc(n); }
__attribute__((weak, export_name("strand_mpi_free"))) void strand_mpi_free(void *p) { free(p); }

#ifdef __cplusplus
}
#endif
#endif
