/*
 * The OpenMPI peer of bench/mpi.ts: the same measurements as bench/fixtures/mpi-ranks.ts,
 * timed the same way (on rank 0, one time per repetition, after a barrier), so that the
 * TypeScript side computes every statistic of both from raw per-repetition times.
 *
 *   mpirun -np N mpibench <test> <bytes or count> <warm-up reps> <timed reps>
 *
 * Tests: pingpong (ranks 0 and 1; the others only join the barriers), allreduce (MPI_SUM of
 * `count` doubles), bcast (`bytes` from rank 0, then a barrier, so that the time covers
 * every rank having the data, not only the root's sends leaving).
 *
 * Rank 0 prints one line to stdout: `MPIBENCH {"test":..., "size":..., "us":[...]}`; the
 * prefix keeps the line apart from anything mpirun itself prints.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *msg) {
  fprintf(stderr, "mpibench: %s\n", msg);
  MPI_Abort(MPI_COMM_WORLD, 2);
}

static void *alloc(size_t bytes) {
  /* Touched once here so that page faults of first use are not timed. */
  void *p = malloc(bytes > 0 ? bytes : 1);
  if (p == NULL) fail("out of memory");
  memset(p, 1, bytes);
  return p;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 5) fail("usage: mpibench pingpong|allreduce|bcast <bytes|count> <warm-up> <reps>");
  const char *test = argv[1];
  const long n = atol(argv[2]);
  const int warm = atoi(argv[3]);
  const int reps = atoi(argv[4]);
  if (n < 0 || warm < 0 || reps < 1) fail("bad arguments");
  double *us = calloc((size_t)reps, sizeof(double));
  if (us == NULL) fail("out of memory");

  if (strcmp(test, "pingpong") == 0) {
    if (size < 2) fail("pingpong needs 2 ranks");
    unsigned char *buf = alloc((size_t)n);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = -warm; i < reps; i++) {
      if (rank == 0) {
        buf[0] = (unsigned char)i;
        double t0 = MPI_Wtime();
        MPI_Send(buf, (int)n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(buf, (int)n, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        double t1 = MPI_Wtime();
        if (n > 0 && buf[0] != (unsigned char)i) fail("pingpong: echo differs");
        if (i >= 0) us[i] = (t1 - t0) * 1e6;
      } else if (rank == 1) {
        MPI_Recv(buf, (int)n, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf, (int)n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
      }
    }
    free(buf);
  } else if (strcmp(test, "allreduce") == 0) {
    double *in = alloc((size_t)n * sizeof(double));
    double *out = alloc((size_t)n * sizeof(double));
    for (long j = 0; j < n; j++) in[j] = (double)(rank + 1) * (double)(j % 1000);
    const double expect = (double)size * (size + 1) / 2; /* element j = expect * (j % 1000) */
    for (int i = -warm; i < reps; i++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      MPI_Allreduce(in, out, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      double t1 = MPI_Wtime();
      if (n > 999 && out[999] != expect * 999) fail("allreduce: wrong sum");
      if (i >= 0) us[i] = (t1 - t0) * 1e6;
    }
    free(in);
    free(out);
  } else if (strcmp(test, "bcast") == 0) {
    if (n < 1) fail("bcast needs at least 1 byte");
    unsigned char *buf = alloc((size_t)n);
    for (int i = -warm; i < reps; i++) {
      if (rank == 0) buf[n - 1] = (unsigned char)i;
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      MPI_Bcast(buf, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
      MPI_Barrier(MPI_COMM_WORLD);
      double t1 = MPI_Wtime();
      if (buf[n - 1] != (unsigned char)i) fail("bcast: data differs");
      if (i >= 0) us[i] = (t1 - t0) * 1e6;
    }
    free(buf);
  } else {
    fail("unknown test");
  }

  if (rank == 0) {
    printf("MPIBENCH {\"test\":\"%s\",\"size\":%d,\"n\":%ld,\"us\":[", test, size, n);
    for (int i = 0; i < reps; i++) printf("%s%.3f", i > 0 ? "," : "", us[i]);
    printf("]}\n");
    fflush(stdout);
  }
  free(us);
  MPI_Finalize();
  return 0;
}
