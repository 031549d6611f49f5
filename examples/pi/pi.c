/* Monte Carlo pi's hit count in C, for Wasm (clang --target=wasm32 -msimd128): kernel.ts's
 * countHits four points at a time. mulberry32's state only ever advances by a constant, so
 * the k-th draw's state is seed + k * 0x6d2b79f5 (mod 2^32) and four points' draws are
 * independent lanes of an i32x4; x = r / 2^32 is exact in double (as in JS), and
 * x * x + y * y < 1 is compared in f64x2 with a separate multiply and add, so every point
 * lands on the same side of the circle as in the JS kernel and the count is the same.
 *
 * Why a kernel at all: the JS loop's speed depended on how V8 speculated on the state's
 * additions, which differs with the seed (rank 0's ran at ~108 Mpoint/s, rank 1's at ~155,
 * in one thread) — Wasm's i32 arithmetic has no such speculation. */
#include <stdint.h>
#include <wasm_simd128.h>
#include "../../include/strand_kernel.h"

#define STEP 0x6d2b79f5u

/* mulberry32's output for a state already advanced: the mixing of one draw. */
static inline v128_t mix(v128_t s) {
  v128_t t = wasm_i32x4_mul(wasm_v128_xor(s, wasm_u32x4_shr(s, 15)), wasm_v128_or(s, wasm_i32x4_splat(1)));
  t = wasm_v128_xor(t, wasm_i32x4_add(t, wasm_i32x4_mul(wasm_v128_xor(t, wasm_u32x4_shr(t, 7)), wasm_v128_or(t, wasm_i32x4_splat(61)))));
  return wasm_v128_xor(t, wasm_u32x4_shr(t, 14));
}

static inline uint32_t mix1(uint32_t s) {
  uint32_t t = (s ^ (s >> 15)) * (s | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

/* Two lanes' hits (as 0 or -1 per lane) of points whose x and y draws are xs and ys (u32, lanes 0-1). */
static inline v128_t inside(v128_t xs, v128_t ys) {
  const v128_t scale = wasm_f64x2_splat(1.0 / 4294967296.0);
  v128_t x = wasm_f64x2_mul(wasm_f64x2_convert_low_u32x4(xs), scale);
  v128_t y = wasm_f64x2_mul(wasm_f64x2_convert_low_u32x4(ys), scale);
  return wasm_f64x2_lt(wasm_f64x2_add(wasm_f64x2_mul(x, x), wasm_f64x2_mul(y, y)), wasm_f64x2_splat(1.0));
}

/* Hits among `samples` points drawn from `state` (mulberry32's state before the first draw). */
STRAND_EXPORT(pi_hits) uint32_t pi_hits(uint32_t samples, uint32_t state) {
  /* Point i of a group of four draws x from state + (2i+1) STEP and y from state + (2i+2) STEP. */
  v128_t sx = wasm_i32x4_add(wasm_i32x4_splat((int32_t)state), wasm_i32x4_make(STEP, 3 * STEP, 5 * STEP, 7 * STEP));
  const v128_t group = wasm_i32x4_splat((int32_t)(8 * STEP));
  const v128_t one = wasm_i32x4_splat((int32_t)STEP);
  v128_t count = wasm_i64x2_splat(0);
  uint32_t i = 0;
  for (; i + 4 <= samples; i += 4) {
    v128_t rx = mix(sx), ry = mix(wasm_i32x4_add(sx, one));
    count = wasm_i64x2_sub(count, inside(rx, ry));
    count = wasm_i64x2_sub(count, inside(wasm_i32x4_shuffle(rx, rx, 2, 3, 0, 1), wasm_i32x4_shuffle(ry, ry, 2, 3, 0, 1)));
    sx = wasm_i32x4_add(sx, group);
  }
  uint32_t hits = (uint32_t)(wasm_i64x2_extract_lane(count, 0) + wasm_i64x2_extract_lane(count, 1));
  uint32_t s = state + 2u * STEP * i;
  for (; i < samples; i++) {
    s += STEP;
    double x = mix1(s) / 4294967296.0;
    s += STEP;
    double y = mix1(s) / 4294967296.0;
    if (x * x + y * y < 1.0) hits++;
  }
  return hits;
}
