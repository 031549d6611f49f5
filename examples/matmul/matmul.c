/* The matmul kernel in C, for Wasm (clang --target=wasm32 -msimd128) and natively (gcc -O3,
 * for the benchmark's floor): the same source, SIMD through wasm_simd128.h's f64x2 on Wasm
 * and through GCC vector extensions (SSE2 on baseline x86-64: the same 128-bit width) natively.
 *
 * C = A * B for `rows` rows of A against the n x n B, all row-major. B is packed, a block of
 * KB rows by JB columns at a time, into panels 4 columns wide, so the micro-kernel reads B
 * contiguously; it keeps a 4 x 4 tile of C in eight f64x2 registers while k runs over the
 * block. Every C[i][j] is still summed over k in ascending order with a separate multiply
 * and add (Wasm SIMD has no fused multiply-add), so the result is bit for bit that of the
 * JS kernel's i-k-j loop (examples/matmul/kernel.ts), however A is split. */
#include <stdint.h>

#ifdef __wasm__
#include <wasm_simd128.h>
#include "../../include/strand_kernel.h"
typedef v128_t f64x2;
#define LOAD(p) wasm_v128_load(p)
#define STORE(p, v) wasm_v128_store((p), (v))
#define SPLAT(x) wasm_f64x2_splat(x)
#define ADD(a, b) wasm_f64x2_add((a), (b))
#define MUL(a, b) wasm_f64x2_mul((a), (b))
#define KERNEL_EXPORT(name) STRAND_EXPORT(name)
#else
typedef double f64x2 __attribute__((vector_size(16)));
typedef double f64x2u __attribute__((vector_size(16), aligned(8)));
#define LOAD(p) (*(const f64x2u *)(p))
#define STORE(p, v) (*(f64x2u *)(p) = (v))
#define SPLAT(x) ((f64x2){(x), (x)})
#define ADD(a, b) ((a) + (b))
#define MUL(a, b) ((a) * (b))
#define KERNEL_EXPORT(name)
#endif

#define KB 256 /* rows of B per block: a 4-wide panel is KB * 32 B = 8 KB, kept in L1 */
#define JB 256 /* columns of B per block: the packed block is KB * JB * 8 B = 512 KB */

static double packed[KB * JB] __attribute__((aligned(16)));

/* Copies B[k0..k0+kb)[j0..j0+jb) (jb a multiple of 4) into panels: panel p holds columns
 * j0+4p..j0+4p+3 of each row k, 4 doubles per row, rows one after the other. */
static void pack(const double *B, int n, int k0, int kb, int j0, int jb) {
  for (int p = 0; p < jb / 4; p++) {
    double *dst = packed + p * 4 * kb;
    const double *src = B + (int64_t)k0 * n + j0 + 4 * p;
    for (int k = 0; k < kb; k++) {
      STORE(dst, LOAD(src));
      STORE(dst + 2, LOAD(src + 2));
      dst += 4;
      src += n;
    }
  }
}

/* C[i..i+4)[j..j+4) += A[i..i+4)[k0..k0+kb) * panel. */
static void tile4x4(const double *A, int n, const double *panel, int kb, int k0, double *C) {
  const double *a0 = A + k0, *a1 = a0 + n, *a2 = a1 + n, *a3 = a2 + n;
  double *c0 = C, *c1 = C + n, *c2 = c1 + n, *c3 = c2 + n;
  f64x2 x00 = LOAD(c0), x01 = LOAD(c0 + 2), x10 = LOAD(c1), x11 = LOAD(c1 + 2);
  f64x2 x20 = LOAD(c2), x21 = LOAD(c2 + 2), x30 = LOAD(c3), x31 = LOAD(c3 + 2);
  for (int k = 0; k < kb; k++) {
    f64x2 b0 = LOAD(panel), b1 = LOAD(panel + 2);
    panel += 4;
    f64x2 s = SPLAT(a0[k]);
    x00 = ADD(x00, MUL(s, b0)); x01 = ADD(x01, MUL(s, b1));
    s = SPLAT(a1[k]);
    x10 = ADD(x10, MUL(s, b0)); x11 = ADD(x11, MUL(s, b1));
    s = SPLAT(a2[k]);
    x20 = ADD(x20, MUL(s, b0)); x21 = ADD(x21, MUL(s, b1));
    s = SPLAT(a3[k]);
    x30 = ADD(x30, MUL(s, b0)); x31 = ADD(x31, MUL(s, b1));
  }
  STORE(c0, x00); STORE(c0 + 2, x01); STORE(c1, x10); STORE(c1 + 2, x11);
  STORE(c2, x20); STORE(c2 + 2, x21); STORE(c3, x30); STORE(c3 + 2, x31);
}

/* C[i][j..j+4) += A[i][k0..k0+kb) * panel, for a last row that does not fill a tile. */
static void tile1x4(const double *A, const double *panel, int kb, int k0, double *C) {
  const double *a = A + k0;
  f64x2 x0 = LOAD(C), x1 = LOAD(C + 2);
  for (int k = 0; k < kb; k++) {
    f64x2 s = SPLAT(a[k]);
    x0 = ADD(x0, MUL(s, LOAD(panel)));
    x1 = ADD(x1, MUL(s, LOAD(panel + 2)));
    panel += 4;
  }
  STORE(C, x0); STORE(C + 2, x1);
}

/* C (rows x n) = A (rows x n) * B (n x n). C is overwritten. */
KERNEL_EXPORT(matmul)
void matmul(const double *A, const double *B, double *C, int rows, int n) {
  for (int64_t i = 0; i < (int64_t)rows * n; i++) C[i] = 0;
  int n4 = n & ~3;
  for (int k0 = 0; k0 < n; k0 += KB) {
    int kb = n - k0 < KB ? n - k0 : KB;
    for (int j0 = 0; j0 < n4; j0 += JB) {
      int jb = n4 - j0 < JB ? n4 - j0 : JB;
      pack(B, n, k0, kb, j0, jb);
      int i = 0;
      for (; i + 4 <= rows; i += 4)
        for (int p = 0; p < jb / 4; p++)
          tile4x4(A + (int64_t)i * n, n, packed + p * 4 * kb, kb, k0, C + (int64_t)i * n + j0 + 4 * p);
      for (; i < rows; i++)
        for (int p = 0; p < jb / 4; p++)
          tile1x4(A + (int64_t)i * n, packed + p * 4 * kb, kb, k0, C + (int64_t)i * n + j0 + 4 * p);
    }
    /* Columns past the last multiple of 4: plain scalar sums, k still ascending. */
    for (int i = 0; i < rows; i++)
      for (int j = n4; j < n; j++) {
        double c = C[(int64_t)i * n + j];
        for (int k = k0; k < k0 + kb; k++) c += A[(int64_t)i * n + k] * B[(int64_t)k * n + j];
        C[(int64_t)i * n + j] = c;
      }
  }
}
