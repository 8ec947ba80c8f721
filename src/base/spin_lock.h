// A tiny test-and-test-and-set lock for cold paths only (registries, reusable-span lists, large objects).
// Constant-initializable so it can live in constinit objects. Never taken on a malloc/free fast path.
#ifndef SCALLOC_SRC_BASE_SPIN_LOCK_H_
#define SCALLOC_SRC_BASE_SPIN_LOCK_H_

#include <atomic>

#include "src/base/compiler.h"

namespace scalloc::internal {

class SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() {
    // Acquire pairs with the release in Unlock(): the critical sections are ordered.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      unsigned spins = 0;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
          __builtin_ia32_pause();
        } else {
          spins = 0;
          YieldSlow();
        }
      }
    }
  }
  bool TryLock() { return !locked_.exchange(true, std::memory_order_acquire); }
  void Unlock() { locked_.store(false, std::memory_order_release); }
  bool IsLockedForTesting() const { return locked_.load(std::memory_order_relaxed); }
  // After fork() only the forking thread exists; a lock taken in the prepare handler is reset this way.
  void ResetAfterFork() { locked_.store(false, std::memory_order_relaxed); }

 private:
  // Gives the CPU away while a lock holder is descheduled (defined by the os layer: sched_yield).
  static SC_NOINLINE void YieldSlow();

  std::atomic<bool> locked_{false};
};

class SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockGuard() { lock_.Unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_SPIN_LOCK_H_
