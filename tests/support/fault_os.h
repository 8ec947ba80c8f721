// FaultOs: SystemOs with failure injection, to drive every out-of-memory path without exhausting the
// machine. Counters are global (static) and not thread-safe to change while an allocator runs.
#ifndef SCALLOC_TESTS_SUPPORT_FAULT_OS_H_
#define SCALLOC_TESTS_SUPPORT_FAULT_OS_H_

#include <atomic>
#include <cstdint>

#include "src/os/os.h"

namespace scalloc::testing {

// Fails the call numbered `fail_at` (0 = the next one) and, if `sticky`, every later one.
class FaultPoint {
 public:
  void FailAt(int64_t fail_at, bool sticky) {
    countdown_ = fail_at;
    sticky_ = sticky;
    failures_ = 0;
  }
  void Disable() { countdown_ = -1; }
  bool ShouldFail() {
    int64_t n = countdown_.load();
    if (n < 0) return false;
    if (n == 0) {
      if (!sticky_) countdown_ = -1;
      ++failures_;
      return true;
    }
    countdown_ = n - 1;
    return false;
  }
  int64_t failures() const { return failures_; }

 private:
  std::atomic<int64_t> countdown_{-1};
  bool sticky_ = false;
  std::atomic<int64_t> failures_{0};
};

struct FaultOs : internal::SystemOs {
  static inline FaultPoint reserve;
  static inline FaultPoint commit;
  static inline FaultPoint map;
  static inline size_t address_space_limit = SIZE_MAX;
  // false: behave like a kernel without guard markers (guarded arenas fall back to PROT_NONE parts).
  static inline bool guard_markers = true;
  // true: behave as under mlockall(MCL_FUTURE) (Arena::Grow then makes later spans sparse).
  static inline bool mappings_locked = false;

  static void DisableAll() {
    reserve.Disable();
    commit.Disable();
    map.Disable();
    address_space_limit = SIZE_MAX;
    guard_markers = true;
    mappings_locked = false;
  }

  static void* Reserve(size_t size, size_t alignment, bool accessible) {
    return reserve.ShouldFail() ? nullptr : SystemOs::Reserve(size, alignment, accessible);
  }
  static bool Commit(void* address, size_t size) {
    return commit.ShouldFail() ? false : SystemOs::Commit(address, size);
  }
  // Making span memory accessible is a commit, whether by mprotect or by removing guard markers.
  static bool RemoveGuard(void* address, size_t size) {
    return commit.ShouldFail() ? false : SystemOs::RemoveGuard(address, size);
  }
  static void* Map(size_t size) { return map.ShouldFail() ? nullptr : SystemOs::Map(size); }
  static bool MapAt(void* address, size_t size, bool accessible) {
    return map.ShouldFail() ? false : SystemOs::MapAt(address, size, accessible);
  }
  static void* Remap(void* address, size_t old_size, size_t new_size) {
    return map.ShouldFail() ? nullptr : SystemOs::Remap(address, old_size, new_size);
  }
  static bool MoveMapping(void* address, size_t old_size, size_t new_size, void* target) {
    return map.ShouldFail() ? false : SystemOs::MoveMapping(address, old_size, new_size, target);
  }
  static size_t AddressSpaceLimit() { return address_space_limit; }
  static bool NewMappingsAreLocked() { return mappings_locked || SystemOs::NewMappingsAreLocked(); }
  static bool GuardMarkersSupported() { return guard_markers && SystemOs::GuardMarkersSupported(); }
};

}  // namespace scalloc::testing

#endif  // SCALLOC_TESTS_SUPPORT_FAULT_OS_H_
