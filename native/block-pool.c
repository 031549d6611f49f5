// Pooled memory for big received values, given to JavaScript as ArrayBuffers whose backing
// store's own deleter returns the block to the pool: the block is reused only once the last
// holder anywhere (a view kept by the user, a transfer to another thread) has let go.
// Why (docs/decisions.md, "Pooled result memory"): a 100 MB value received into fresh memory
// costs the kernel ~25k page faults and a clear of every page on each value; a reused block
// costs neither. Built on first use by src/transport/native-pool.ts; optional.
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FREE 16

typedef struct {
  void* data;
  size_t size;
} Block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Block free_blocks[MAX_FREE];
static int free_count = 0;
static size_t free_bytes = 0;
static size_t free_cap = 512u << 20; // bytes kept free at most
static size_t reused = 0, fresh = 0, returned = 0, dropped = 0, live_blocks = 0;

// Called when the ArrayBuffer's backing store is freed (Node runs it on the JS thread of the
// env that made it, whichever thread held the buffer last).
static void give_back(napi_env env, void* data, void* hint) {
  (void)env;
  size_t size = (size_t)hint;
  pthread_mutex_lock(&lock);
  live_blocks--;
  if (free_count < MAX_FREE && free_bytes + size <= free_cap) {
    free_blocks[free_count].data = data;
    free_blocks[free_count].size = size;
    free_count++;
    free_bytes += size;
    returned++;
    data = NULL;
  } else {
    dropped++;
  }
  pthread_mutex_unlock(&lock);
  if (data != NULL) free(data);
}

// A block of at least `bytes` and at most 1/8 more (a bigger one would keep memory idle).
static void* take_block(size_t bytes, size_t* size) {
  void* data = NULL;
  pthread_mutex_lock(&lock);
  int best = -1;
  for (int i = 0; i < free_count; i++) {
    size_t s = free_blocks[i].size;
    if (s >= bytes && s - bytes <= bytes / 8 && (best < 0 || s < free_blocks[best].size)) best = i;
  }
  if (best >= 0) {
    data = free_blocks[best].data;
    *size = free_blocks[best].size;
    free_bytes -= *size;
    free_blocks[best] = free_blocks[--free_count];
    reused++;
  }
  live_blocks++;
  pthread_mutex_unlock(&lock);
  if (data != NULL) return data;
  // Rounded up to 1 MiB so that values of nearly the same size share blocks.
  *size = (bytes + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);
  data = malloc(*size);
  pthread_mutex_lock(&lock);
  if (data == NULL) live_blocks--;
  else fresh++;
  pthread_mutex_unlock(&lock);
  return data;
}

static napi_value take(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &want) != napi_ok || !(want >= 1) || want > 9007199254740991.0) {
    napi_throw_range_error(env, NULL, "take(bytes): bytes must be a positive integer");
    return NULL;
  }
  size_t bytes = (size_t)want, size = 0;
  void* data = take_block(bytes, &size);
  if (data == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_value buffer, ab;
  if (napi_create_external_buffer(env, bytes, data, give_back, (void*)size, &buffer) != napi_ok) {
    give_back(env, data, (void*)size);
    napi_throw_error(env, NULL, "external buffer refused");
    return NULL;
  }
  if (napi_get_typedarray_info(env, buffer, NULL, NULL, NULL, &ab, NULL) != napi_ok) return NULL;
  return ab;
}

// Frees what the pool keeps free (a cluster closing); blocks in use come back later as usual.
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&lock);
  Block out[MAX_FREE];
  int n = free_count;
  memcpy(out, free_blocks, sizeof(Block) * (size_t)n);
  free_count = 0;
  free_bytes = 0;
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < n; i++) free(out[i].data);
  napi_value r;
  napi_create_int32(env, n, &r);
  return r;
}

static napi_value set_cap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double cap;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &cap) != napi_ok || !(cap >= 0)) {
    napi_throw_range_error(env, NULL, "setCap(bytes)");
    return NULL;
  }
  pthread_mutex_lock(&lock);
  free_cap = (size_t)cap;
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void put_num(napi_env env, napi_value obj, const char* name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static napi_value stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj;
  napi_create_object(env, &obj);
  pthread_mutex_lock(&lock);
  put_num(env, obj, "freeBlocks", free_count);
  put_num(env, obj, "freeBytes", (double)free_bytes);
  put_num(env, obj, "liveBlocks", (double)live_blocks);
  put_num(env, obj, "reused", (double)reused);
  put_num(env, obj, "fresh", (double)fresh);
  put_num(env, obj, "returned", (double)returned);
  put_num(env, obj, "dropped", (double)dropped);
  pthread_mutex_unlock(&lock);
  return obj;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    {"take", NULL, take, NULL, NULL, NULL, napi_default, NULL},
    {"trim", NULL, trim, NULL, NULL, NULL, napi_default, NULL},
    {"setCap", NULL, set_cap, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
