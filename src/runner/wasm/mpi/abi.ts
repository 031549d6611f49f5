// The numbers of the C ABI: handles, special values and the status layout. They must match
// include/mpi.h, which C programs compile against; test/unit/mpi-abi.test.ts compares the two.

export const MPI_SUCCESS = 0;
export const ANY_SOURCE = -1;
export const ANY_TAG = -1;
export const PROC_NULL = -2;
export const UNDEFINED = -32766;
/** MPI_IN_PLACE is (void *)-1: as an unsigned pointer, the last byte of the address space. */
export const IN_PLACE = 0xffffffff;
/** MPI_STATUS_IGNORE and MPI_STATUSES_IGNORE are NULL. */
export const STATUS_IGNORE = 0;

export const COMM_NULL = 0;
export const COMM_WORLD = 1;
export const COMM_SELF = 2;
export const GROUP_NULL = 0;
export const GROUP_EMPTY = 1;
export const REQUEST_NULL = 0;
export const OP_NULL = 0;
export const DATATYPE_NULL = 0;

export const IDENT = 0;
export const CONGRUENT = 1;
export const SIMILAR = 2;
export const UNEQUAL = 3;

/** MPI_Status: { int MPI_SOURCE, MPI_TAG, MPI_ERROR, _count (bytes received), _cancelled }. */
export const STATUS_BYTES = 20;
export const STATUS_SOURCE = 0;
export const STATUS_TAG = 4;
export const STATUS_ERROR = 8;
export const STATUS_COUNT = 12;
export const STATUS_CANCELLED = 16;

export const MAX_PROCESSOR_NAME = 256;
export const MAX_LIBRARY_VERSION_STRING = 256;

/** Handles made at run time start here, above every predefined one. */
export const FIRST_COMM = 3;
export const FIRST_GROUP = 2;
export const FIRST_REQUEST = 1;
export const FIRST_TYPE = 100;
export const FIRST_OP = 32;
