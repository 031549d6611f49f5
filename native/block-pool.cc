// Pooled memory for big received values: ArrayBuffers and SharedArrayBuffers whose backing
// store's own deleter gives the block back to the pool. V8 calls it when the last holder
// anywhere lets go (a view the user kept, a transfer or a share with another thread), on
// whichever thread that was: so a block is lent again only once nothing can read it, and
// the pool is guarded by a mutex. Built on first use against the running Node's headers by
// src/transport/native-pool.ts (optional: without it big frames get fresh memory).
//
// Why (docs/decisions.md, "Pooled memory for big values"): a 100 MB value received into
// fresh memory costs ~25k page faults and a clear of every page by the kernel, on every
// value; a reused block costs neither.
#include <node.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace {

struct Block {
  void* data;
  size_t size;
};

// Never destroyed: a deleter may run on a worker thread while the process exits, after
// static destructors would have run.
std::mutex& lock = *new std::mutex;
std::vector<Block>& free_blocks = *new std::vector<Block>;
size_t free_bytes = 0;
size_t free_cap = size_t(256) << 20;  // bytes kept free at most (setCap)
double reused = 0, fresh = 0, returned = 0, dropped = 0, live = 0;

// Blocks are mapped by the pool itself, not by malloc: a runner's malloc madvises its heap
// for huge pages, and a huge-page fault in fresh memory compacts synchronously on this VM
// (THP defrag "madvise"): a new runner's first 100 MB values cost 5-8x. Reused blocks are
// faulted in once.
void* map_block(size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void give_back(void* data, size_t length, void* deleter_data) {
  (void)length;
  size_t size = reinterpret_cast<size_t>(deleter_data);
  {
    std::lock_guard<std::mutex> g(lock);
    live--;
    if (free_bytes + size <= free_cap) {
      free_blocks.push_back({data, size});
      free_bytes += size;
      returned++;
      return;
    }
    dropped++;
  }
  munmap(data, size);
}

// A free block of at least `bytes` and at most 1/8 more, else a new one (whole 64 KiB: its
// untouched tail costs no memory).
void* take_block(size_t bytes, size_t* size) {
  {
    std::lock_guard<std::mutex> g(lock);
    int best = -1;
    for (size_t i = 0; i < free_blocks.size(); i++) {
      size_t s = free_blocks[i].size;
      if (s >= bytes && s - bytes <= bytes / 8 && (best < 0 || s < free_blocks[best].size)) best = int(i);
    }
    live++;
    if (best >= 0) {
      Block b = free_blocks[best];
      free_blocks[best] = free_blocks.back();
      free_blocks.pop_back();
      free_bytes -= b.size;
      reused++;
      *size = b.size;
      return b.data;
    }
  }
  *size = (bytes + (size_t(1) << 16) - 1) & ~((size_t(1) << 16) - 1);
  void* p = map_block(*size);
  std::lock_guard<std::mutex> g(lock);
  if (p == nullptr) live--;
  else fresh++;
  return p;
}

bool bytes_arg(const v8::FunctionCallbackInfo<v8::Value>& args, size_t* bytes) {
  v8::Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    isolate->ThrowException(v8::Exception::RangeError(v8::String::NewFromUtf8Literal(isolate, "bytes must be a positive integer")));
    return false;
  }
  double want = args[0].As<v8::Number>()->Value();
  if (!(want >= 1 && want <= double(size_t(1) << 40))) {
    isolate->ThrowException(v8::Exception::RangeError(v8::String::NewFromUtf8Literal(isolate, "bytes must be a positive integer")));
    return false;
  }
  *bytes = size_t(want);
  return true;
}

template <bool Shared>
void Take(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  size_t bytes, size = 0;
  if (!bytes_arg(args, &bytes)) return;
  void* data = take_block(bytes, &size);
  if (data == nullptr) {
    isolate->ThrowException(v8::Exception::Error(v8::String::NewFromUtf8Literal(isolate, "out of memory")));
    return;
  }
  void* hint = reinterpret_cast<void*>(size);
  if (Shared) {
    std::shared_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(data, bytes, give_back, hint);
    args.GetReturnValue().Set(v8::SharedArrayBuffer::New(isolate, std::move(store)));
  } else {
    std::shared_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(data, bytes, give_back, hint);
    args.GetReturnValue().Set(v8::ArrayBuffer::New(isolate, std::move(store)));
  }
}

void Trim(const v8::FunctionCallbackInfo<v8::Value>& args) {
  std::vector<Block> out;
  {
    std::lock_guard<std::mutex> g(lock);
    out.swap(free_blocks);
    free_bytes = 0;
  }
  for (const Block& b : out) munmap(b.data, b.size);
  args.GetReturnValue().Set(double(out.size()));
}

void SetCap(const v8::FunctionCallbackInfo<v8::Value>& args) {
  size_t bytes;
  if (args.Length() >= 1 && args[0]->IsNumber() && args[0].As<v8::Number>()->Value() == 0) bytes = 0;
  else if (!bytes_arg(args, &bytes)) return;
  std::lock_guard<std::mutex> g(lock);
  free_cap = bytes;
}

void Stats(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> ctx = isolate->GetCurrentContext();
  v8::Local<v8::Object> o = v8::Object::New(isolate);
  double v[7];
  {
    std::lock_guard<std::mutex> g(lock);
    double f[7] = {double(free_blocks.size()), double(free_bytes), live, reused, fresh, returned, dropped};
    std::memcpy(v, f, sizeof v);
  }
  const char* names[7] = {"freeBlocks", "freeBytes", "liveBlocks", "reused", "fresh", "returned", "dropped"};
  for (int i = 0; i < 7; i++) {
    o->Set(ctx, v8::String::NewFromUtf8(isolate, names[i]).ToLocalChecked(), v8::Number::New(isolate, v[i])).Check();
  }
  args.GetReturnValue().Set(o);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  NODE_SET_METHOD(exports, "take", Take<false>);
  NODE_SET_METHOD(exports, "takeShared", Take<true>);
  NODE_SET_METHOD(exports, "trim", Trim);
  NODE_SET_METHOD(exports, "setCap", SetCap);
  NODE_SET_METHOD(exports, "stats", Stats);
}
