/* The 1-D heat stencil in C, for Wasm (clang --target=wasm32 -msimd128): kernel.ts's step,
 * u'[i] = u[i] + R * ((u[i-1] - 2 u[i]) + u[i+1]), two cells at a time in f64x2 with separate
 * multiplies and adds (Wasm SIMD has no fused multiply-add), so every cell gets the JS
 * kernel's bits.
 *
 * heat_advance runs up to MAX_DEPTH steps at once, tile by tile (temporal blocking): a tile of
 * TILE cells is copied with the cells its h steps depend on (h more per side) into two small
 * buffers that stay in the core's cache, stepped h times there, and written out. The JS
 * kernel streams the whole field through memory once per step; this reads and writes it
 * once per h steps, so two ranks on two cores no longer share the memory bus each step (a
 * JS rank ran at ~64% of one process's rate when both ran). The extra work is the cones'
 * overlap: about h / TILE of the cells (2.4% at h = 200). Measured (1M cells x 1,000 steps, CPU time, load 11): TILE 2048 0.68-0.77 s, 4096 0.67-0.72, 8192 0.45-0.58, 16384 0.59-0.63; the JS kernel ~3.9 s. */
#include <stdint.h>
#include <wasm_simd128.h>
#include "../../include/strand_kernel.h"

#define R 0.25
#ifndef TILE
#define TILE 8192 /* output cells per tile: two buffers of (TILE + 2 MAX_DEPTH) doubles, ~140 KB, in L2 */
#endif
#define MAX_DEPTH 256 /* steps per call at most */

static double buf[2][TILE + 2 * MAX_DEPTH + 2] __attribute__((aligned(16)));

/* One step of cells [lo, hi) of s into d. */
static void step(const double *s, double *d, int lo, int hi) {
  const v128_t r = wasm_f64x2_splat(R), two = wasm_f64x2_splat(2.0);
  int i = lo;
  for (; i + 2 <= hi; i += 2) {
    v128_t c = wasm_v128_load(s + i);
    v128_t l = wasm_v128_load(s + i - 1);
    v128_t rt = wasm_v128_load(s + i + 1);
    v128_t lap = wasm_f64x2_add(wasm_f64x2_sub(l, wasm_f64x2_mul(two, c)), rt);
    wasm_v128_store(d + i, wasm_f64x2_add(c, wasm_f64x2_mul(r, lap)));
  }
  for (; i < hi; i++) d[i] = s[i] + R * ((s[i - 1] - 2.0 * s[i]) + s[i + 1]);
}

static int max(int a, int b) { return a > b ? a : b; }
static int min(int a, int b) { return a < b ? a : b; }

/* h steps (1 <= h <= MAX_DEPTH) of the field in u, written to v. Cells [cmin, cmax) may change;
 * the others are fixed (held at their value in both u and v). At entry u is right on [a, b)
 * (bounds may lie outside the arrays: a cell outside [cmin - 1, cmax + 1) is never read), so
 * step j (from 0) can compute cells [max(cmin, a + j + 1), min(cmax, b - j - 1)). On return
 * v holds the field after h steps on [max(cmin, a + h), min(cmax, b - h)); v's other cells
 * are left as they were. Returns 0, or -1 if h is out of range. */
STRAND_EXPORT(heat_advance) int heat_advance(const double *u, double *v, int a, int b, int cmin, int cmax, int h) {
  if (h < 1 || h > MAX_DEPTH) return -1;
  const int olo = max(cmin, a + h), ohi = min(cmax, b - h);
  for (int p = olo; p < ohi; p += TILE) {
    const int q = min(p + TILE, ohi);
    /* The cells the tile's cone reads at entry; buffer index k - base is cell k. */
    const int base = max(max(a, p - h), cmin - 1), end = min(min(b, q + h), cmax + 1);
    for (int k = base; k < end; k++) buf[0][k - base] = buf[1][k - base] = u[k];
    for (int j = 0; j < h; j++) {
      const int lo = max(max(cmin, a + j + 1), p - h + j + 1), hi = min(min(cmax, b - j - 1), q + h - j - 1);
      step(buf[j & 1], buf[(j + 1) & 1], lo - base, hi - base);
    }
    for (int k = p; k < q; k++) v[k] = buf[h & 1][k - base];
  }
  return 0;
}
