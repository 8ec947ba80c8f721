// LabRegistry: owns every LAB of one allocator instance, in a reserved array (never through malloc). Acquire
// hands a LAB to a new thread (recycling those of exited threads), Release takes it back. A spin lock guards
// the free list; both are cold paths (thread start and exit).
#ifndef SCALLOC_SRC_CORE_LAB_REGISTRY_H_
#define SCALLOC_SRC_CORE_LAB_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "src/base/bits.h"
#include "src/base/spin_lock.h"
#include "src/core/lab.h"
#include "src/os/os.h"

namespace scalloc::internal {

// Threads holding a LAB at the same time (address space reserved up front, touched as used: ~1 KiB each).
inline constexpr size_t kMaxLabs = 1 << 14;

template <class Os>
class LabRegistry {
 public:
  constexpr LabRegistry() = default;

  [[nodiscard]] bool Init() {
    labs_ = static_cast<Lab*>(Os::Reserve(RegionBytes(), kPageSize, /*accessible=*/true));
    num_created_ = 0;
    free_list_ = nullptr;
    return labs_ != nullptr;
  }

  void Release() {
    if (labs_ != nullptr) Os::Release(labs_, RegionBytes());
    labs_ = nullptr;
    num_created_ = 0;
    free_list_ = nullptr;
  }

  // nullptr when kMaxLabs threads hold LABs at once.
  Lab* Acquire(const void* allocator, uint64_t seed) {
    SpinLockGuard guard(lock_);
    Lab* lab = free_list_;
    if (lab != nullptr) {
      free_list_ = lab->next_free;
    } else {
      if (num_created_ == kMaxLabs) return nullptr;
      lab = new (&labs_[num_created_]) Lab();
      lab->index = static_cast<uint32_t>(num_created_);
      ++num_created_;
    }
    lab->allocator = allocator;
    lab->next_free = nullptr;
    lab->random_state = seed | 1;
    lab->in_use = true;
    return lab;
  }

  // The LAB must hold no spans any more.
  void Release(Lab* lab) {
    SpinLockGuard guard(lock_);
    lab->in_use = false;
    lab->next_free = free_list_;
    free_list_ = lab;
  }

  // Calls fn(Lab*) for every LAB in use. Caller must make sure no LAB is acquired or released meanwhile
  // (fork child, tests, statistics with the lock held through Lock()).
  template <class Fn>
  void ForEachInUse(Fn fn) {
    for (size_t i = 0; i < num_created_; ++i) {
      if (labs_[i].in_use) fn(&labs_[i]);
    }
  }

  SpinLock& lock() { return lock_; }
  size_t num_created() const { return num_created_; }

 private:
  static size_t RegionBytes() { return AlignUp(kMaxLabs * sizeof(Lab), kPageSize); }

  SpinLock lock_;
  Lab* labs_ = nullptr;
  size_t num_created_ = 0;
  Lab* free_list_ = nullptr;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_LAB_REGISTRY_H_
