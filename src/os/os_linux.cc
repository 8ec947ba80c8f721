// Linux implementation of SystemOs and of the base layer's CheckFailed/SpinLock::YieldSlow. The only translation
// unit of the allocator that includes system headers or makes system calls (enforced by tools/check_os_calls.py).
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "src/base/bits.h"
#include "src/base/check.h"
#include "src/base/spin_lock.h"
#include "src/os/os.h"

extern char** environ;

namespace scalloc::internal {
namespace {

// free() must leave errno as it was (POSIX 2024, glibc since 2.33), and its slow paths unmap, decommit and
// protect memory. The calls that can run on a free path keep errno, whether they succeed or fail; callers learn
// of failure from the return value.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

}  // namespace

void* SystemOs::Reserve(size_t size, size_t alignment, bool accessible) {
  // Over-reserve by the alignment and trim both ends, so the result is aligned without MAP_FIXED guesses.
  size_t padded = size + (alignment > kPageSize ? alignment : 0);
  if (padded < size) return nullptr;
  int prot = accessible ? (PROT_READ | PROT_WRITE) : PROT_NONE;
  void* raw = mmap(nullptr, padded, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = AlignUp(start, alignment);
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + padded;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  // Huge pages would turn a touched 16-byte block into 2 MiB of resident memory.
  madvise(reinterpret_cast<void*>(aligned), size, MADV_NOHUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

bool SystemOs::MapAt(void* address, size_t size, bool accessible) {
  ErrnoKeeper keep;
  const int prot = accessible ? (PROT_READ | PROT_WRITE) : PROT_NONE;
  // MAP_FIXED_NOREPLACE fails with EEXIST when the range is taken; a kernel before 4.17 treats it as a hint
  // and may map elsewhere, which the address check below undoes.
  void* mapped = mmap(address, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (mapped == MAP_FAILED) return false;
  if (mapped != address) {
    munmap(mapped, size);
    return false;
  }
  madvise(address, size, MADV_NOHUGEPAGE);
  return true;
}

void SystemOs::Release(void* address, size_t size) {
  ErrnoKeeper keep;
  munmap(address, size);
}

bool SystemOs::Commit(void* address, size_t size) {
  ErrnoKeeper keep;
  return mprotect(address, size, PROT_READ | PROT_WRITE) == 0;
}

bool SystemOs::Protect(void* address, size_t size) {
  ErrnoKeeper keep;
  madvise(address, size, MADV_DONTNEED);
  return mprotect(address, size, PROT_NONE) == 0;
}

namespace {
// Not in older kernel headers; the values are the kernel's ABI.
constexpr int kMadviseGuardInstall = 102;
constexpr int kMadviseGuardRemove = 103;

// What the kernel answers to `advice` on a fresh read-write page: 0, or the errno of its refusal (ENOMEM when
// not even the page could be mapped). Probes what a kernel supports and how new mappings are made.
int AdviseFreshPage(int advice) {
  void* page = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return ENOMEM;
  const int result = madvise(page, kPageSize, advice) == 0 ? 0 : errno;
  munmap(page, kPageSize);
  return result;
}
}  // namespace

bool SystemOs::GuardMarkersSupported() {
  static std::atomic<int> state{0};  // 0: not probed yet, 1: supported, 2: not supported
  int known = state.load(std::memory_order_relaxed);
  if (known != 0) return known == 1;
  ErrnoKeeper keep;
  const bool supported = AdviseFreshPage(kMadviseGuardInstall) == 0;
  state.store(supported ? 1 : 2, std::memory_order_relaxed);
  return supported;
}

bool SystemOs::InstallGuard(void* address, size_t size) {
  ErrnoKeeper keep;
  // Installing markers zaps the range's pages: the old contents never come back (tested by
  // HardeningDeathTest.ReturnedSpansFaultAndComeBackZeroed).
  return madvise(address, size, kMadviseGuardInstall) == 0;
}

bool SystemOs::RemoveGuard(void* address, size_t size) {
  ErrnoKeeper keep;
  return madvise(address, size, kMadviseGuardRemove) == 0;
}

bool SystemOs::Revoke(void* address, size_t size) {
  ErrnoKeeper keep;
  return mprotect(address, size, PROT_NONE) == 0;
}

void SystemOs::Decommit(void* address, size_t size) {
  ErrnoKeeper keep;
  madvise(address, size, MADV_DONTNEED);
}

void* SystemOs::Map(size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void* SystemOs::Remap(void* address, size_t old_size, size_t new_size) {
  void* p = mremap(address, old_size, new_size, MREMAP_MAYMOVE);
  return p == MAP_FAILED ? nullptr : p;
}

bool SystemOs::MoveMapping(void* address, size_t old_size, size_t new_size, void* target) {
  return mremap(address, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target) != MAP_FAILED;
}

size_t SystemOs::AddressSpaceLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return static_cast<size_t>(limit.rlim_cur);
}

bool SystemOs::NewMappingsAreLocked() {
  ErrnoKeeper keep;
  // The kernel refuses MADV_DONTNEED on a locked mapping (EINVAL), and a fresh mapping is locked exactly when
  // mlockall(MCL_FUTURE) is in effect. Not mincore(): sandboxes such as Chromium's baseline seccomp policy
  // forbid it, where mmap, madvise and munmap are allowed.
  return AdviseFreshPage(MADV_DONTNEED) == EINVAL;
}

void SystemOs::FillRandom(void* buffer, size_t size) {
  auto* out = static_cast<unsigned char*>(buffer);
  size_t done = 0;
  while (done < size) {
    // The raw system call: glibc's getrandom() is a cancellation point, and malloc must not be one.
    const long n = syscall(SYS_getrandom, out + done, size - done, GRND_NONBLOCK);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done == size) return;
  // No entropy source (very early boot or seccomp): mix time and addresses; weak, but never zero.
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 32) ^
               reinterpret_cast<uintptr_t>(&ts) ^ reinterpret_cast<uintptr_t>(buffer);
  for (; done < size; ++done) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[done] = static_cast<unsigned char>(x);
  }
}

const char* SystemOs::GetEnv(const char* name) {
  if (environ == nullptr) return nullptr;
  size_t length = strlen(name);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') return *entry + length + 1;
  }
  return nullptr;
}

// The raw system call, not write(): write() is a pthread cancellation point, and a thread with a cancel pending
// would unwind out of a fatal report before its abort() (and out of malloc_stats before it printed anything).
void SystemOs::WriteToStderr(const char* text, size_t size) {
  while (size > 0) {
    const long n = syscall(SYS_write, STDERR_FILENO, text, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    text += n;
    size -= static_cast<size_t>(n);
  }
}

void SystemOs::Abort() {
  // abort() may flush stdio (which could allocate); raise SIGABRT directly, then make sure we die.
  signal(SIGABRT, SIG_DFL);
  raise(SIGABRT);
  _exit(127);
}

void SystemOs::SetErrno(int value) { errno = value; }
int SystemOs::GetErrno() { return errno; }
void SystemOs::Yield() { sched_yield(); }

unsigned SystemOs::NumCpus() {
  long n = sysconf(_SC_NPROCESSORS_CONF);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

size_t SystemOs::ResidentBytes() {
  // Raw system calls: open() and read() are cancellation points, and malloc_stats/mallinfo must not be.
  const long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[128];
  const long n = syscall(SYS_read, fd, buffer, sizeof(buffer) - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return 0;
  buffer[n] = '\0';
  // Format: "size resident shared ..." in pages.
  const char* p = buffer;
  while (*p != '\0' && *p != ' ') ++p;
  while (*p == ' ') ++p;
  size_t pages = 0;
  while (*p >= '0' && *p <= '9') pages = pages * 10 + static_cast<size_t>(*p++ - '0');
  return pages * kPageSize;
}

bool SystemOs::CreateThreadKey(unsigned* key, void (*on_thread_exit)(void*)) {
  pthread_key_t k;
  if (pthread_key_create(&k, on_thread_exit) != 0) return false;
  *key = static_cast<unsigned>(k);
  return true;
}

void SystemOs::DeleteThreadKey(unsigned key) { pthread_key_delete(static_cast<pthread_key_t>(key)); }

void SystemOs::SetThreadKeyValue(unsigned key, void* value) {
  pthread_setspecific(static_cast<pthread_key_t>(key), value);
}

void* SystemOs::GetThreadKeyValue(unsigned key) { return pthread_getspecific(static_cast<pthread_key_t>(key)); }

void SystemOs::RegisterForkHandlers(void (*prepare)(), void (*parent)(), void (*child)()) {
  pthread_atfork(prepare, parent, child);
}

// glibc 2.32 and later keep this flag; it turns false at the first pthread_create and stays false. Weak, so a C
// library without it reads as "unknown" (multi-threaded).
extern "C" __attribute__((weak)) char __libc_single_threaded;

// Exported by glibc since 2.2.5 (libio); weak, so another C library leaves them null.
extern "C" __attribute__((weak)) void _IO_list_lock();
extern "C" __attribute__((weak)) void _IO_list_unlock();

void SystemOs::LockStdioForFork() {
  if (&_IO_list_lock != nullptr && &_IO_list_unlock != nullptr) _IO_list_lock();
}

void SystemOs::UnlockStdioInParent() {
  if (&_IO_list_lock != nullptr && &_IO_list_unlock != nullptr) _IO_list_unlock();
}

bool SystemOs::IsSingleThreaded() { return &__libc_single_threaded != nullptr && __libc_single_threaded != 0; }

static_assert(kDlopenDeepBind == RTLD_DEEPBIND);

void* SystemOs::FindSymbol(const char* name, bool after_this_library) {
  return dlsym(after_this_library ? RTLD_NEXT : RTLD_DEFAULT, name);
}

void SpinLock::YieldSlow() { sched_yield(); }

namespace {
// Formats an unsigned decimal without allocating; returns the number of characters written.
size_t FormatDecimal(char* out, unsigned long value) {
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  return n;
}
}  // namespace

void CheckFailed(const char* expression, const char* file, int line) {
  char buffer[512];
  size_t n = 0;
  auto append = [&](const char* s) {
    while (*s != '\0' && n < sizeof(buffer) - 32) buffer[n++] = *s++;
  };
  append("scalloc: internal check failed: ");
  append(expression);
  append(" at ");
  append(file);
  append(":");
  n += FormatDecimal(buffer + n, static_cast<unsigned long>(line));
  buffer[n++] = '\n';
  SystemOs::WriteToStderr(buffer, n);
  SystemOs::Abort();
}

}  // namespace scalloc::internal
