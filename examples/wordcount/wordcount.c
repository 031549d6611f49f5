/* The word-count kernel in C for Wasm: count.ts's tokenization on UTF-8 bytes.
 *
 * The text is lowercased and split into words exactly as count.ts does (a word is a run of
 * letters, joined by apostrophes between letters; ’ counts as '), and counted in an
 * open-addressing hash table. ASCII goes through a 128-entry table; other code points are
 * decoded as WHATWG's UTF-8 decoder does (an invalid sequence is U+FFFD, a separator) and
 * looked up in wordcount_unicode.h, generated from Node's own Unicode data by gen-unicode.ts. Text
 * holding a code point whose lowercase depends on context (Σ) or is longer than one code
 * point (İ) is not counted here: wc_count says so and the caller counts it in JS.
 *
 * wc_count(text, len) returns a block (free it with strand_free) that holds:
 *   u32 status (0 counted, 1 left to JS), u32 distinct, u32 total words, u32 word bytes,
 *   u32 counts[distinct], then the distinct words in UTF-8, each followed by '\n'
 * (in the same order as the counts): a compact table that travels as two typed arrays. */
#include <stdint.h>
#include "../../include/strand_kernel.h"
#include <wordcount_unicode.h> /* generated; -I points at it (build-kernels.ts) */

enum { SEPARATOR = 0, LETTER = 1, APOSTROPHE = 2, SPECIAL = 3 };

typedef struct { uint32_t hash, offset, len, count; } entry;

static entry *table;      /* capacity entries, count 0 = empty */
static uint32_t capacity, distinct;
static uint8_t *arena;    /* the words' bytes, back to back */
static uint32_t arena_used, arena_size;

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) dst[i] = src[i];
}

/* ASCII: the lowercase of a letter, '\'' for the apostrophe, 0 for a separator. */
static uint8_t ascii_lower[128];

static void init_ascii(void) {
  for (int c = 'a'; c <= 'z'; c++) ascii_lower[c] = (uint8_t)c;
  for (int c = 'A'; c <= 'Z'; c++) ascii_lower[c] = (uint8_t)(c + 32);
  ascii_lower['\''] = '\'';
}

static int lookup(uint32_t cp) {
  int lo = 0, hi = UNI_RANGES - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) >> 1;
    if (uni_start[mid] <= cp) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/* Decodes the code point at p (p < end, *p >= 0x80) as WHATWG does: returns its length
 * in bytes and sets *cp, or returns 1 with *cp = 0xFFFD for an invalid sequence (the
 * decoder's replacement covers only continuation bytes, never a valid start, so resuming
 * one byte later finds the same letters). */
static uint32_t decode(const uint8_t *p, const uint8_t *end, uint32_t *cp) {
  uint8_t b0 = p[0];
  uint32_t need, c;
  uint8_t lo = 0x80, hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) { need = 1; c = b0 & 0x1f; }
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2; c = b0 & 0x0f;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3; c = b0 & 0x07;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else { *cp = 0xfffd; return 1; }
  if ((uint32_t)(end - p) <= need) { *cp = 0xfffd; return 1; }
  if (p[1] < lo || p[1] > hi) { *cp = 0xfffd; return 1; }
  c = (c << 6) | (p[1] & 0x3f);
  for (uint32_t i = 2; i <= need; i++) {
    if (p[i] < 0x80 || p[i] > 0xbf) { *cp = 0xfffd; return 1; }
    c = (c << 6) | (p[i] & 0x3f);
  }
  *cp = c;
  return need + 1;
}

static int grow_arena(uint32_t need) {
  uint32_t size = arena_size;
  while (size - arena_used < need) size *= 2;
  uint8_t *bigger = strand_alloc(size);
  if (bigger == 0) return 0;
  copy_bytes(bigger, arena, arena_used);
  strand_free(arena);
  arena = bigger;
  arena_size = size;
  return 1;
}

static int grow_table(void) {
  uint32_t cap = capacity * 2;
  entry *bigger = strand_alloc(cap * sizeof(entry));
  if (bigger == 0) return 0;
  for (uint32_t i = 0; i < cap; i++) bigger[i].count = 0;
  for (uint32_t i = 0; i < capacity; i++) {
    if (table[i].count == 0) continue;
    uint32_t s = table[i].hash & (cap - 1);
    while (bigger[s].count != 0) s = (s + 1) & (cap - 1);
    bigger[s] = table[i];
  }
  strand_free(table);
  table = bigger;
  capacity = cap;
  return 1;
}

/* Adds `amount` to the word at arena + arena_used (len bytes, hash h); keeps its bytes if it is new. */
static int add_word(uint32_t h, uint32_t len, uint32_t amount) {
  uint32_t s = h & (capacity - 1);
  const uint8_t *w = arena + arena_used;
  for (;;) {
    entry *e = &table[s];
    if (e->count == 0) break;
    if (e->hash == h && e->len == len) {
      const uint8_t *o = arena + e->offset;
      uint32_t i = 0;
      while (i < len && o[i] == w[i]) i++;
      if (i == len) { e->count += amount; return 1; }
    }
    s = (s + 1) & (capacity - 1);
  }
  table[s] = (entry){h, arena_used, len, amount};
  arena_used += len;
  if (++distinct * 2 > capacity) return grow_table();
  return 1;
}

/* What the code point at p is after lowercasing: sets *len (bytes consumed) and *lower. */
static int classify(const uint8_t *p, const uint8_t *end, uint32_t *len, uint32_t *lower) {
  uint8_t b = *p;
  if (b < 0x80) {
    *len = 1;
    uint8_t l = ascii_lower[b];
    *lower = l;
    return l == 0 ? SEPARATOR : l == '\'' ? APOSTROPHE : LETTER;
  }
  uint32_t cp;
  *len = decode(p, end, &cp);
  int r = lookup(cp);
  *lower = cp + (uint32_t)uni_delta[r];
  return uni_kind[r];
}

static uint32_t fnv(uint32_t h, uint8_t b) { return (h ^ b) * 16777619u; }

/* Writes cp in UTF-8 at w, folding its bytes into *h; returns the byte after it. */
static uint8_t *put(uint8_t *w, uint32_t cp, uint32_t *h) {
  uint32_t n;
  if (cp < 0x80) { w[0] = (uint8_t)cp; n = 1; }
  else if (cp < 0x800) { w[0] = 0xc0 | (cp >> 6); w[1] = 0x80 | (cp & 0x3f); n = 2; }
  else if (cp < 0x10000) { w[0] = 0xe0 | (cp >> 12); w[1] = 0x80 | ((cp >> 6) & 0x3f); w[2] = 0x80 | (cp & 0x3f); n = 3; }
  else { w[0] = 0xf0 | (cp >> 18); w[1] = 0x80 | ((cp >> 12) & 0x3f); w[2] = 0x80 | ((cp >> 6) & 0x3f); w[3] = 0x80 | (cp & 0x3f); n = 4; }
  for (uint32_t i = 0; i < n; i++) *h = fnv(*h, w[i]);
  return w + n;
}

/* 0 counted, 1 special (left to JS), 2 out of memory. The hot loop keeps the word's write
 * position in locals: a byte store may alias any global, so globals would be reloaded
 * after every byte. */
static uint32_t count(const uint8_t *p, const uint8_t *end, uint32_t *total) {
  uint32_t words = 0;
  while (p < end) {
    uint8_t b = *p;
    if (b < 0x80) {
      if (ascii_lower[b] == 0 || b == '\'') { p++; continue; }
    } else {
      uint32_t len, lower;
      int kind = classify(p, end, &len, &lower);
      if (kind == SPECIAL) return 1;
      if (kind != LETTER) { p += len; continue; }
    }
    /* A word starts at p. */
    uint32_t h = 2166136261u;
    uint8_t *start = arena + arena_used, *w = start, *limit = arena + arena_size - 8;
    while (p < end) {
      if (w >= limit) {
        uint32_t wlen = (uint32_t)(w - start);
        if (!grow_arena(wlen + 8)) return 2;
        start = arena + arena_used; w = start + wlen; limit = arena + arena_size - 8;
      }
      b = *p;
      if (b < 0x80) {
        uint8_t l = ascii_lower[b];
        if (l == 0) break;
        if (l != '\'') {
          *w++ = l;
          h = fnv(h, l);
          p++;
          continue;
        }
      }
      uint32_t len, lower;
      int kind = classify(p, end, &len, &lower);
      if (kind == SPECIAL) return 1;
      if (kind == LETTER) { w = put(w, lower, &h); p += len; continue; }
      if (kind != APOSTROPHE || p + len >= end) break;
      /* An apostrophe joins only if a letter follows. */
      uint32_t len2, lower2;
      int next = classify(p + len, end, &len2, &lower2);
      if (next == SPECIAL) return 1;
      if (next != LETTER) break;
      w = put(w, '\'', &h);
      p += len;
    }
    if (!add_word(h, (uint32_t)(w - start), 1)) return 2;
    words++;
  }
  *total = words;
  return 0;
}

/* Starts an empty table. 0 if memory ran out. */
static int begin(void) {
  if (ascii_lower['a'] == 0) init_ascii();
  capacity = 1u << 15;
  distinct = 0;
  arena_size = 1u << 18;
  arena_used = 0;
  table = strand_alloc(capacity * sizeof(entry));
  arena = strand_alloc(arena_size);
  if (table == 0 || arena == 0) return 0;
  for (uint32_t i = 0; i < capacity; i++) table[i].count = 0;
  return 1;
}

/* The table as the block described at the top (status 0), or only the header with `status`;
 * frees the table. */
static uint32_t *end(uint32_t status, uint32_t total) {
  uint32_t n = status == 0 ? distinct : 0;
  uint32_t words_bytes = status == 0 ? arena_used + distinct : 0;
  uint32_t *out = strand_alloc(16 + 4 * n + words_bytes);
  if (out != 0) {
    out[0] = status; out[1] = n; out[2] = status == 0 ? total : 0; out[3] = words_bytes;
    uint8_t *w = (uint8_t *)(out + 4 + n);
    uint32_t k = 0;
    for (uint32_t i = 0; i < capacity && status == 0; i++) {
      if (table[i].count == 0) continue;
      out[4 + k++] = table[i].count;
      copy_bytes(w, arena + table[i].offset, table[i].len);
      w += table[i].len;
      *w++ = '\n';
    }
  }
  strand_free(arena);
  strand_free(table);
  return out;
}

/* Counts the words of UTF-8 text; returns the block described at the top, 0 if out of memory. */
STRAND_EXPORT(wc_count) uint32_t *wc_count(const uint8_t *text, uint32_t len) {
  if (!begin()) return 0;
  uint32_t total = 0;
  uint32_t status = count(text, text + len, &total);
  return status == 2 ? 0 : end(status, total);
}

/* Merging tables that wc_count made (on the driver, as they arrive): wc_merge_begin, then
 * wc_merge_add per table (its words and counts, as in the block), then wc_merge_end for
 * the sum in the same block format. One table at a time per instance. */
static uint32_t merge_total;

STRAND_EXPORT(wc_merge_begin) uint32_t wc_merge_begin(void) {
  merge_total = 0;
  return (uint32_t)begin();
}

STRAND_EXPORT(wc_merge_add) uint32_t wc_merge_add(const uint8_t *words, uint32_t words_len, const uint32_t *counts, uint32_t n) {
  const uint8_t *p = words, *stop = words + words_len;
  for (uint32_t i = 0; i < n && p < stop; i++) {
    uint32_t h = 2166136261u, len = 0;
    if (arena_size - arena_used < (uint32_t)(stop - p) && !grow_arena((uint32_t)(stop - p))) return 0;
    uint8_t *w = arena + arena_used;
    while (p < stop && *p != '\n') { h = fnv(h, *p); w[len++] = *p++; }
    p++;
    if (counts[i] != 0 && !add_word(h, len, counts[i])) return 0;
    merge_total += counts[i];
  }
  return 1;
}

STRAND_EXPORT(wc_merge_end) uint32_t *wc_merge_end(void) {
  return end(0, merge_total);
}
