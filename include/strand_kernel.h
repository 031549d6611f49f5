/* The allocator a Wasm kernel exports for strand/runtime's wasmKernel() helper.
 *
 * Include it in exactly one C file of a kernel built with
 *   clang --target=wasm32 -nostdlib -Wl,--no-entry -Wl,--export-dynamic
 * and the module exports strand_alloc(bytes) and strand_free(ptr), which the helper
 * calls to place typed arrays in linear memory. Blocks are 16-byte aligned (so f64x2
 * loads of an array start aligned), found first-fit among the free blocks or else carved
 * from the top of the heap; free neighbours merge, and free blocks at the top are given
 * back. Kernels allocate few, large blocks, so a walk over them is cheap. Memory grows on demand (memory.grow), which replaces
 * the ArrayBuffer behind every view the host holds: see docs/wasm.md#wasm-kernels. */
#ifndef STRAND_KERNEL_H
#define STRAND_KERNEL_H

#include <stdint.h>

#define STRAND_EXPORT(name) __attribute__((export_name(#name), visibility("default")))

extern unsigned char __heap_base;

typedef struct strand_block {
  uint32_t size;      /* payload bytes, a multiple of 16 */
  uint32_t prev_size; /* payload bytes of the block below, 0 for the first */
  uint32_t used;
  uint32_t pad;
} strand_block;

static uintptr_t strand_heap_top;  /* the first byte past the topmost block */
static strand_block *strand_last;  /* the topmost block, 0 when the heap is empty */

static uintptr_t strand_heap_start(void) {
  return ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
}

static strand_block *strand_next(strand_block *b) {
  return b == strand_last ? 0 : (strand_block *)((unsigned char *)(b + 1) + b->size);
}

static strand_block *strand_prev(strand_block *b) {
  return (uintptr_t)b == strand_heap_start() ? 0 : (strand_block *)((unsigned char *)b - b->prev_size - sizeof(strand_block));
}

/* Makes b's size `size` and fixes the prev_size of the block after it. */
static void strand_resize(strand_block *b, uint32_t size) {
  b->size = size;
  strand_block *n = strand_next(b);
  if (n) n->prev_size = size;
}

/* Returns a 16-byte aligned block of `bytes` bytes, or 0 if memory cannot grow. A free
 * block that fits is reused first (split if much bigger), so a long-lived block (a pinned
 * input) does not make the heap grow each time the blocks around it change. */
STRAND_EXPORT(strand_alloc) void *strand_alloc(uint32_t bytes) {
  if (strand_heap_top == 0) strand_heap_top = strand_heap_start();
  if (bytes > 0xfffffff0u - sizeof(strand_block)) return 0;
  uint32_t size = (bytes + 15) & ~15u;
  for (strand_block *b = strand_last ? (strand_block *)strand_heap_start() : 0; b; b = strand_next(b)) {
    if (b->used || b->size < size) continue;
    if (b->size >= size + sizeof(strand_block) + 256) {
      uint32_t rest = b->size - size - sizeof(strand_block);
      strand_block *r = (strand_block *)((unsigned char *)(b + 1) + size);
      r->used = 0;
      r->prev_size = size;
      if (b == strand_last) strand_last = r;
      b->size = size;
      strand_resize(r, rest);
    }
    b->used = 1;
    return b + 1;
  }
  uintptr_t end = strand_heap_top + sizeof(strand_block) + size;
  if (end < strand_heap_top) return 0;
  uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    uintptr_t pages = (end - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (uintptr_t)-1) return 0;
  }
  strand_block *b = (strand_block *)strand_heap_top;
  b->size = size;
  b->prev_size = strand_last ? strand_last->size : 0;
  b->used = 1;
  strand_last = b;
  strand_heap_top = end;
  return b + 1;
}

/* Frees a block from strand_alloc (0 is ignored): it merges with free neighbours, and free
 * blocks at the top go back to the heap. */
STRAND_EXPORT(strand_free) void strand_free(void *p) {
  if (p == 0) return;
  strand_block *b = (strand_block *)p - 1;
  b->used = 0;
  strand_block *n = strand_next(b);
  if (n && !n->used) {
    if (n == strand_last) strand_last = b;
    strand_resize(b, b->size + sizeof(strand_block) + n->size);
  }
  strand_block *q = strand_prev(b);
  if (q && !q->used) {
    if (b == strand_last) strand_last = q;
    strand_resize(q, q->size + sizeof(strand_block) + b->size);
  }
  while (strand_last && !strand_last->used) {
    strand_heap_top = (uintptr_t)strand_last;
    strand_last = strand_prev(strand_last);
  }
}

#endif
