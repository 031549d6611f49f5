/*
 * A 2-D heat stencil (Jacobi iteration on an n x n plate, the top edge held at 100 degrees,
 * the others at 0), split by rows over the ranks: each step exchanges one halo row with each
 * neighbour (MPI_Sendrecv, MPI_PROC_NULL at the plate's edges) and agrees on the largest change
 * (MPI_Allreduce, MPI_MAX), stopping once it is below the tolerance.
 *
 * The same source builds for Strand and for Open MPI, and prints the same lines on both:
 *   strand cc heat.c -O2 -o heat.wasm && strand mpirun -n 4 --local 2 heat.wasm -- 256 5000
 *   mpicc -O2 heat.c -o heat && mpirun -n 4 ./heat 256 5000
 * The checksum is summed in rank order on rank 0 (MPI_Gather, not MPI_Reduce), so that it does
 * not depend on the order a reduction combines the ranks' sums.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int n = argc > 1 ? atoi(argv[1]) : 128;
  const int max_steps = argc > 2 ? atoi(argv[2]) : 2000;
  const double tolerance = 1e-4;
  if (n < size || n < 3) {
    if (rank == 0) fprintf(stderr, "heat: the plate (%d rows) needs at least 3 rows and one row per rank (%d ranks)\n", n, size);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  /* Rows [first, first + rows) are this rank's; rows 0 and rows + 1 of the local block are halos. */
  const int rows = n / size + (rank < n % size ? 1 : 0);
  const int first = rank * (n / size) + (rank < n % size ? rank : n % size);
  double *t = calloc((size_t)(rows + 2) * n, sizeof(double));
  double *next = calloc((size_t)(rows + 2) * n, sizeof(double));
  if (t == NULL || next == NULL) MPI_Abort(MPI_COMM_WORLD, 3);
  if (first == 0) for (int j = 0; j < n; j++) t[1 * n + j] = next[1 * n + j] = 100.0;

  const int up = rank == 0 ? MPI_PROC_NULL : rank - 1;
  const int down = rank == size - 1 ? MPI_PROC_NULL : rank + 1;
  double change = 0;
  int step;
  double t0 = MPI_Wtime();
  for (step = 1; step <= max_steps; step++) {
    MPI_Sendrecv(&t[1 * n], n, MPI_DOUBLE, up, 0, &t[(rows + 1) * n], n, MPI_DOUBLE, down, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&t[rows * n], n, MPI_DOUBLE, down, 1, &t[0], n, MPI_DOUBLE, up, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    double local = 0;
    for (int i = 1; i <= rows; i++) {
      const int g = first + i - 1; /* the row's number on the plate */
      if (g == 0 || g == n - 1) continue; /* edges are held */
      for (int j = 1; j < n - 1; j++) {
        const double v = 0.25 * (t[(i - 1) * n + j] + t[(i + 1) * n + j] + t[i * n + j - 1] + t[i * n + j + 1]);
        const double d = v > t[i * n + j] ? v - t[i * n + j] : t[i * n + j] - v;
        if (d > local) local = d;
        next[i * n + j] = v;
      }
    }
    double *swap = t;
    t = next;
    next = swap;
    MPI_Allreduce(&local, &change, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (change < tolerance) break;
  }
  double elapsed = MPI_Wtime() - t0;

  double sum = 0;
  for (int i = 1; i <= rows; i++) for (int j = 0; j < n; j++) sum += t[i * n + j];
  double *sums = rank == 0 ? malloc(sizeof(double) * size) : NULL;
  MPI_Gather(&sum, 1, MPI_DOUBLE, sums, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    double total = 0;
    for (int r = 0; r < size; r++) total += sums[r];
    printf("heat: %dx%d plate on %d ranks: %d steps, last change %.6e, checksum %.10e\n", n, n, size, step > max_steps ? max_steps : step, change, total);
    fprintf(stderr, "heat: %.3f s\n", elapsed);
    free(sums);
  }
  free(t);
  free(next);
  MPI_Finalize();
  return 0;
}
