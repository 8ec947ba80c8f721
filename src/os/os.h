// SystemOs: the allocator's only window to the operating system (Linux). A struct of static functions so the
// core can take the OS as a template parameter (tests substitute a fault-injecting one). Every function is
// async-signal-safe in spirit: none of them allocates through malloc.
#ifndef SCALLOC_SRC_OS_OS_H_
#define SCALLOC_SRC_OS_OS_H_

#include <cstddef>
#include <cstdint>

namespace scalloc::internal {

inline constexpr size_t kPageSize = 4096;
inline constexpr int kErrnoNoMemory = 12;  // ENOMEM on Linux
inline constexpr int kErrnoInvalid = 22;   // EINVAL on Linux
inline constexpr int kDlopenDeepBind = 8;  // dlopen's RTLD_DEEPBIND in the GNU C library

// Release, Commit, Protect, Revoke and Decommit leave errno unchanged (free() must), also when they fail.
struct SystemOs {
  // Reserves `size` bytes (a multiple of kPageSize) of address space aligned to `alignment` (a power of two
  // >= kPageSize). With `accessible`, the range is readable and writable but not accounted (MAP_NORESERVE):
  // pages become resident on first touch. Without, it is PROT_NONE until Commit(). Transparent huge pages are
  // disabled on the range, so touching one small block never makes 2 MiB resident. Returns nullptr on failure.
  static void* Reserve(size_t size, size_t alignment, bool accessible);
  // Unmaps a range returned by Reserve/Map/Remap/MapAt (or a page-aligned part of one).
  static void Release(void* address, size_t size);
  // Maps `size` bytes exactly at `address` (page aligned), as Reserve would (accessible or PROT_NONE), only if
  // nothing is mapped there: false when any of the range is taken or the system refuses.
  [[nodiscard]] static bool MapAt(void* address, size_t size, bool accessible);
  // Makes a reserved range readable and writable. Contents keep their value (zero if never touched).
  // False on failure (for example the kernel's map count limit).
  [[nodiscard]] static bool Commit(void* address, size_t size);
  // Makes a range inaccessible (PROT_NONE): a guard. Contents are discarded as by Decommit.
  [[nodiscard]] static bool Protect(void* address, size_t size);
  // Makes a range inaccessible (PROT_NONE) and keeps its contents and resident pages, so Commit makes it usable
  // again without page faults. False on failure.
  [[nodiscard]] static bool Revoke(void* address, size_t size);
  // Guard markers (Linux 6.13+, MADV_GUARD_INSTALL/REMOVE): pages of a read-write private mapping that fault on
  // access without changing the mapping's protection, so guarding a range does not split the mapping into
  // more VMAs (the process's map count is limited: vm.max_map_count). Probed once.
  static bool GuardMarkersSupported();
  // Drops the pages of [address, address + size) and puts guard markers on them. False on failure.
  [[nodiscard]] static bool InstallGuard(void* address, size_t size);
  // Removes the guard markers of a range: it reads as fresh zero pages. False on failure.
  [[nodiscard]] static bool RemoveGuard(void* address, size_t size);
  // Returns the physical memory of a range to the OS; it stays accessible and reads as zero afterwards.
  static void Decommit(void* address, size_t size);
  // Maps `size` fresh zeroed, accessible bytes (for large objects); nullptr on failure.
  static void* Map(size_t size);
  // Grows or shrinks a mapping made by Map, moving it if needed; nullptr on failure (the old mapping stays).
  static void* Remap(void* address, size_t old_size, size_t new_size);

  // Moves the pages of [address, address + old_size) to `target` (page aligned), resized to new_size, without
  // copying (mremap MREMAP_FIXED); whatever was mapped at the target range is replaced. The source range must
  // be one mapping. False on failure (nothing changed).
  [[nodiscard]] static bool MoveMapping(void* address, size_t old_size, size_t new_size, void* target);
  // RLIMIT_AS soft limit in bytes, or SIZE_MAX when unlimited.
  static size_t AddressSpaceLimit();
  // Whether a new mapping is locked and populated as it is made (mlockall(MCL_FUTURE) is in effect).
  static bool NewMappingsAreLocked();
  // Fills `buffer` with random bytes from getrandom (falls back to a time/address mix if unavailable).
  static void FillRandom(void* buffer, size_t size);
  // Looks `name` up in the environment without allocating; nullptr when absent.
  static const char* GetEnv(const char* name);
  // Writes all of `size` bytes to stderr, retrying on EINTR; never allocates.
  static void WriteToStderr(const char* text, size_t size);
  [[noreturn]] static void Abort();
  static void SetErrno(int value);
  static int GetErrno();
  static void Yield();
  static unsigned NumCpus();
  // Current resident set size in bytes (from /proc/self/statm), or 0 when unknown.
  static size_t ResidentBytes();

  // Thread-exit hooks (pthread keys). CreateThreadKey returns false when none is left.
  [[nodiscard]] static bool CreateThreadKey(unsigned* key, void (*on_thread_exit)(void*));
  static void DeleteThreadKey(unsigned key);
  static void SetThreadKeyValue(unsigned key, void* value);
  static void* GetThreadKeyValue(unsigned key);
  // Registers fork handlers (pthread_atfork). May allocate: call only outside allocator locks.
  static void RegisterForkHandlers(void (*prepare)(), void (*parent)(), void (*child)());
  // True while the process has never had a second thread (glibc's __libc_single_threaded); false when unknown.
  static bool IsSingleThreaded();
  // glibc's stdio list lock, for the allocator's fork handlers: fork() takes it after the handlers ran, and a
  // thread that flushes all streams holds it while it waits for one stream's lock, whose holder may be inside
  // malloc (getline) waiting for a lock the forking thread took in its handler. Taking the list lock before
  // the allocator's locks makes the order the one glibc's own malloc uses. (It is recursive: fork's own
  // acquisition nests.) The child needs no unlock: fork resets the lock there. No-ops without glibc.
  static void LockStdioForFork();
  static void UnlockStdioInParent();

  // The address of a symbol of the process's loaded libraries (dlsym): with `after_this_library`, the next
  // definition after the library this code is in (RTLD_NEXT), else the first (RTLD_DEFAULT). nullptr if none.
  static void* FindSymbol(const char* name, bool after_this_library);
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_OS_OS_H_
