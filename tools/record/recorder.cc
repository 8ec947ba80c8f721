// libscalloc_record.so (LD_PRELOAD): logs every malloc-family call as a fixed-size binary event to the file named by
// SCALLOC_RECORD_FILE and forwards it to the next malloc (dlsym RTLD_NEXT); `tools/scalloc record` converts the log
// into a fuzzer trace (fuzzers/README.md, "Recording real programs"). Never allocates: its buffers are static.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#define SC_RECORD_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// --- the event format (keep in sync with tools/lib/commands/record.py) -----------------------------------------

enum EventKind : uint8_t {
  kEventMalloc = 1,
  kEventCalloc = 2,
  kEventRealloc = 3,
  kEventMemalign = 4,
  kEventPosixMemalign = 5,
  kEventAlignedAlloc = 6,
  kEventValloc = 7,
  kEventPvalloc = 8,
  kEventFree = 9,
  kEventFreeSized = 10,
  kEventFreeAlignedSized = 11,
  kEventUsableSize = 12,
};

constexpr uint16_t kEventMagic = 0x5352;  // "RS" little-endian: a sanity mark in every record

// 56 bytes, little-endian, no padding surprises: the converter reads it with struct "<QIIBBH4xQQQQ".
struct Event {
  uint64_t sequence;  // global order of the calls (taken after an allocation returns, before a free starts)
  uint32_t pid;
  uint32_t tid;
  uint8_t kind;
  uint8_t version;  // 1
  uint16_t magic;   // kEventMagic
  uint32_t reserved;
  uint64_t result;   // the returned pointer (allocations; 0 on failure)
  uint64_t pointer;  // the pointer argument (free, realloc, usable size)
  uint64_t size;     // request in bytes (calloc: the element size)
  uint64_t extra;    // calloc: element count; aligned allocations: the alignment; usable size: its result
};
static_assert(sizeof(Event) == 56, "the converter expects 56-byte records");

// --- the next allocator, resolved lazily -----------------------------------------------------------------------

using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);
using MemalignFn = void* (*)(size_t, size_t);
using PosixMemalignFn = int (*)(void**, size_t, size_t);
using UsableSizeFn = size_t (*)(void*);
using FreeSizedFn = void (*)(void*, size_t);
using FreeAlignedSizedFn = void (*)(void*, size_t, size_t);

struct NextAllocator {
  MallocFn malloc;
  FreeFn free;
  CallocFn calloc;
  ReallocFn realloc;
  MemalignFn memalign;
  PosixMemalignFn posix_memalign;
  MemalignFn aligned_alloc;
  MallocFn valloc;
  MallocFn pvalloc;
  UsableSizeFn usable_size;
  FreeSizedFn free_sized;                 // may be missing (glibc < 2.39): falls back to free
  FreeAlignedSizedFn free_aligned_sized;  // likewise
};

constinit NextAllocator g_next{};
constinit std::atomic<int> g_resolve_state{0};  // 0: not yet, 1: in progress, 2: done

// dlsym may allocate (its error buffer) before the real functions are known: those requests are served from
// this buffer and never freed. Each block has a 16-byte header holding its size, for realloc and usable size.
alignas(16) constinit char g_bootstrap[64 * 1024] = {};
constinit std::atomic<size_t> g_bootstrap_used{0};

bool IsBootstrap(const void* pointer) {
  auto p = static_cast<const char*>(pointer);
  return p >= g_bootstrap && p < g_bootstrap + sizeof(g_bootstrap);
}

void* BootstrapAlloc(size_t size, size_t alignment) {
  if (alignment < 16) alignment = 16;
  size_t rounded = (size + 15) & ~size_t{15};
  for (;;) {
    size_t used = g_bootstrap_used.load(std::memory_order_relaxed);
    size_t start = (used + 16 + alignment - 1) & ~(alignment - 1);
    if (start + rounded > sizeof(g_bootstrap)) return nullptr;
    if (g_bootstrap_used.compare_exchange_weak(used, start + rounded, std::memory_order_relaxed)) {
      std::memcpy(g_bootstrap + start - 16, &size, sizeof(size));
      return g_bootstrap + start;  // static storage: already zero, so calloc needs nothing more
    }
  }
}

size_t BootstrapSize(const void* pointer) {
  size_t size;
  std::memcpy(&size, static_cast<const char*>(pointer) - 16, sizeof(size));
  return size;
}

template <class Fn>
Fn Lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// True when g_next is usable; false while resolution is in progress (the caller uses the bootstrap buffer).
bool Resolve() {
  int state = g_resolve_state.load(std::memory_order_acquire);
  if (state == 2) return true;
  int expected = 0;
  if (!g_resolve_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    // Another thread (or this one, re-entered from dlsym) is resolving: wait unless it is us.
    if (expected == 1) return false;
    return true;
  }
  g_next.malloc = Lookup<MallocFn>("malloc");
  g_next.free = Lookup<FreeFn>("free");
  g_next.calloc = Lookup<CallocFn>("calloc");
  g_next.realloc = Lookup<ReallocFn>("realloc");
  g_next.memalign = Lookup<MemalignFn>("memalign");
  g_next.posix_memalign = Lookup<PosixMemalignFn>("posix_memalign");
  g_next.aligned_alloc = Lookup<MemalignFn>("aligned_alloc");
  g_next.valloc = Lookup<MallocFn>("valloc");
  g_next.pvalloc = Lookup<MallocFn>("pvalloc");
  g_next.usable_size = Lookup<UsableSizeFn>("malloc_usable_size");
  g_next.free_sized = Lookup<FreeSizedFn>("free_sized");
  g_next.free_aligned_sized = Lookup<FreeAlignedSizedFn>("free_aligned_sized");
  if (g_next.malloc == nullptr || g_next.free == nullptr || g_next.calloc == nullptr || g_next.realloc == nullptr) {
    static const char kMessage[] = "scalloc record: cannot find the next malloc with dlsym\n";
    ssize_t ignored = write(2, kMessage, sizeof(kMessage) - 1);
    (void)ignored;
    abort();
  }
  g_resolve_state.store(2, std::memory_order_release);
  return true;
}

// --- event buffers ---------------------------------------------------------------------------------------------

class SpinLock {
 public:
  void Lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) sched_yield();
    }
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }
  void Reset() { locked_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> locked_{false};
};

constexpr size_t kEventsPerBuffer = 512;
constexpr size_t kMaxBuffers = 256;  // threads beyond this share the last buffer

struct ThreadBuffer {
  SpinLock lock;
  size_t count = 0;
  Event events[kEventsPerBuffer] = {};
};

// Constant-initialized: other libraries' constructors allocate before this library's constructors run.
constinit ThreadBuffer g_buffers[kMaxBuffers] = {};
constinit std::atomic<size_t> g_buffers_claimed{0};
constinit std::atomic<uint64_t> g_sequence{0};
constinit std::atomic<bool> g_exiting{false};  // after the destructor: flush every event at once
constinit int g_fd = -1;
constinit uint32_t g_pid = 0;
// 0: not yet decided, 1: recording, 2: off (no SCALLOC_RECORD_FILE, or it cannot be opened).
constinit std::atomic<int> g_recording{0};
constinit SpinLock g_open_lock;

__attribute__((tls_model("initial-exec"))) thread_local ThreadBuffer* t_buffer = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local uint32_t t_tid = 0;
__attribute__((tls_model("initial-exec"))) thread_local bool t_busy = false;  // inside the recorder

void WriteAll(const void* data, size_t bytes) {
  auto p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = write(g_fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nothing sensible to do: the trace is cut short
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

// Caller holds buffer->lock.
void FlushLocked(ThreadBuffer* buffer) {
  if (buffer->count == 0) return;
  // O_APPEND: each write lands whole at the end even with several writers (threads or processes).
  WriteAll(buffer->events, buffer->count * sizeof(Event));
  buffer->count = 0;
}

bool RecordingEnabled() {
  int state = g_recording.load(std::memory_order_acquire);
  if (state != 0) return state == 1;
  g_open_lock.Lock();
  state = g_recording.load(std::memory_order_relaxed);
  if (state == 0) {
    const char* path = getenv("SCALLOC_RECORD_FILE");
    if (path != nullptr && path[0] != '\0') {
      g_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    g_pid = static_cast<uint32_t>(getpid());
    state = g_fd >= 0 ? 1 : 2;
    g_recording.store(state, std::memory_order_release);
  }
  g_open_lock.Unlock();
  return state == 1;
}

void Record(EventKind kind, const void* result, const void* pointer, size_t size, size_t extra) {
  if (t_busy || !RecordingEnabled()) return;
  t_busy = true;
  Event event;
  event.sequence = g_sequence.fetch_add(1, std::memory_order_relaxed);
  if (t_tid == 0) t_tid = static_cast<uint32_t>(syscall(SYS_gettid));
  event.pid = g_pid;
  event.tid = t_tid;
  event.kind = kind;
  event.version = 1;
  event.magic = kEventMagic;
  event.reserved = 0;
  event.result = reinterpret_cast<uintptr_t>(result);
  event.pointer = reinterpret_cast<uintptr_t>(pointer);
  event.size = size;
  event.extra = extra;
  ThreadBuffer* buffer = t_buffer;
  if (buffer == nullptr) {
    size_t index = g_buffers_claimed.fetch_add(1, std::memory_order_relaxed);
    buffer = &g_buffers[index < kMaxBuffers ? index : kMaxBuffers - 1];
    t_buffer = buffer;
  }
  buffer->lock.Lock();
  if (buffer->count == kEventsPerBuffer) FlushLocked(buffer);
  buffer->events[buffer->count++] = event;
  if (g_exiting.load(std::memory_order_relaxed)) FlushLocked(buffer);
  buffer->lock.Unlock();
  t_busy = false;
}

void FlushAll() {
  if (g_recording.load(std::memory_order_acquire) != 1) return;
  size_t claimed = g_buffers_claimed.load(std::memory_order_relaxed);
  for (size_t i = 0; i < claimed && i < kMaxBuffers; ++i) {
    g_buffers[i].lock.Lock();
    FlushLocked(&g_buffers[i]);
    g_buffers[i].lock.Unlock();
  }
}

// The child of fork() must not write the parent's unflushed events again; it records on under its own pid.
void AfterForkInChild() {
  for (ThreadBuffer& buffer : g_buffers) {
    buffer.lock.Reset();
    buffer.count = 0;
  }
  g_pid = static_cast<uint32_t>(getpid());
  t_tid = 0;
}

__attribute__((constructor)) void StartRecorder() {
  Resolve();
  t_busy = true;  // pthread_atfork may allocate: not part of the program's trace
  pthread_atfork(nullptr, nullptr, &AfterForkInChild);
  t_busy = false;
}

// Late exit handlers and other libraries' destructors may still allocate: from here on events go out at once.
__attribute__((destructor)) void StopRecorder() {
  g_exiting.store(true, std::memory_order_relaxed);
  FlushAll();
}

}  // namespace

// --- the interposed functions ----------------------------------------------------------------------------------

SC_RECORD_EXPORT void* malloc(size_t size) {
  if (!Resolve()) return BootstrapAlloc(size, 16);
  void* result = g_next.malloc(size);
  Record(kEventMalloc, result, nullptr, size, 0);
  return result;
}

SC_RECORD_EXPORT void* calloc(size_t count, size_t size) {
  if (!Resolve()) {
    size_t total;
    return __builtin_mul_overflow(count, size, &total) ? nullptr : BootstrapAlloc(total, 16);
  }
  void* result = g_next.calloc(count, size);
  Record(kEventCalloc, result, nullptr, size, count);
  return result;
}

SC_RECORD_EXPORT void free(void* pointer) {
  if (pointer == nullptr || IsBootstrap(pointer)) return;
  Resolve();
  Record(kEventFree, nullptr, pointer, 0, 0);
  g_next.free(pointer);
}

SC_RECORD_EXPORT void* realloc(void* pointer, size_t size) {
  if (!Resolve()) {
    void* fresh = BootstrapAlloc(size, 16);
    if (fresh != nullptr && pointer != nullptr) {
      size_t old = BootstrapSize(pointer);
      std::memcpy(fresh, pointer, old < size ? old : size);
    }
    return fresh;
  }
  if (IsBootstrap(pointer)) {  // move a bootstrap block into the real heap
    void* fresh = g_next.malloc(size);
    if (fresh != nullptr) {
      size_t old = BootstrapSize(pointer);
      std::memcpy(fresh, pointer, old < size ? old : size);
    }
    Record(kEventMalloc, fresh, nullptr, size, 0);
    return fresh;
  }
  void* result = g_next.realloc(pointer, size);
  Record(kEventRealloc, result, pointer, size, 0);
  return result;
}

SC_RECORD_EXPORT void* memalign(size_t alignment, size_t size) {
  if (!Resolve()) return BootstrapAlloc(size, alignment);
  void* result = g_next.memalign(alignment, size);
  Record(kEventMemalign, result, nullptr, size, alignment);
  return result;
}

SC_RECORD_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  if (!Resolve()) {
    *out = BootstrapAlloc(size, alignment);
    return *out != nullptr ? 0 : ENOMEM;
  }
  int error = g_next.posix_memalign(out, alignment, size);
  Record(kEventPosixMemalign, error == 0 ? *out : nullptr, nullptr, size, alignment);
  return error;
}

SC_RECORD_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  if (!Resolve()) return BootstrapAlloc(size, alignment);
  void* result = g_next.aligned_alloc(alignment, size);
  Record(kEventAlignedAlloc, result, nullptr, size, alignment);
  return result;
}

SC_RECORD_EXPORT void* valloc(size_t size) {
  if (!Resolve()) return BootstrapAlloc(size, 4096);
  void* result = g_next.valloc(size);
  Record(kEventValloc, result, nullptr, size, 4096);
  return result;
}

SC_RECORD_EXPORT void* pvalloc(size_t size) {
  if (!Resolve()) return BootstrapAlloc((size + 4095) & ~size_t{4095}, 4096);
  void* result = g_next.pvalloc(size);
  Record(kEventPvalloc, result, nullptr, size, 4096);
  return result;
}

SC_RECORD_EXPORT size_t malloc_usable_size(void* pointer) {
  if (pointer == nullptr) return 0;
  if (IsBootstrap(pointer)) return BootstrapSize(pointer);
  Resolve();
  size_t usable = g_next.usable_size != nullptr ? g_next.usable_size(pointer) : 0;
  Record(kEventUsableSize, nullptr, pointer, 0, usable);
  return usable;
}

SC_RECORD_EXPORT void free_sized(void* pointer, size_t size) {
  if (pointer == nullptr || IsBootstrap(pointer)) return;
  Resolve();
  Record(kEventFreeSized, nullptr, pointer, size, 0);
  if (g_next.free_sized != nullptr) {
    g_next.free_sized(pointer, size);
  } else {
    g_next.free(pointer);
  }
}

SC_RECORD_EXPORT void free_aligned_sized(void* pointer, size_t alignment, size_t size) {
  if (pointer == nullptr || IsBootstrap(pointer)) return;
  Resolve();
  Record(kEventFreeAlignedSized, nullptr, pointer, size, alignment);
  if (g_next.free_aligned_sized != nullptr) {
    g_next.free_aligned_sized(pointer, alignment, size);
  } else {
    g_next.free(pointer);
  }
}
