/* bench/wasm.ts's native floor: examples/matmul/matmul.c compiled by gcc, one core.
 * Usage: matmul-native n reps. Prints one line per rep, "ms <wall ms> sum <sum of C>",
 * on the same mulberry32 matrices as examples/matmul/kernel.ts's randomMatrix(n, 1 and 2). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../../examples/matmul/matmul.c"

static void random_matrix(double *m, int n, uint32_t seed) {
  uint32_t s = seed;
  for (long i = 0; i < (long)n * n; i++) {
    s += 0x6d2b79f5u;
    uint32_t t = s;
    t = (t ^ (t >> 15)) * (t | 1);
    t ^= t + (t ^ (t >> 7)) * (t | 61);
    m[i] = (double)(t ^ (t >> 14)) / 4294967296.0 * 2 - 1;
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1024, reps = argc > 2 ? atoi(argv[2]) : 3;
  double *A = malloc(sizeof(double) * n * n), *B = malloc(sizeof(double) * n * n), *C = malloc(sizeof(double) * n * n);
  random_matrix(A, n, 1);
  random_matrix(B, n, 2);
  for (int r = 0; r < reps; r++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    matmul(A, B, C, n, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sum = 0;
    for (long i = 0; i < (long)n * n; i++) sum += C[i];
    printf("ms %.3f sum %.17g\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, sum);
  }
  return 0;
}
