// LabRegistry: owns every LAB of one allocator instance, in chunks reserved from the OS as threads arrive (never
// through malloc). Acquire hands a LAB to a new thread (recycling those of exited threads), Release takes it
// back. A spin lock guards the free list and the chunk table; both are cold paths (thread start and exit).
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

// LABs are reserved in chunks of this many (about 1.3 MiB, touched as used), so a process with few threads
// reserves little and one with very many is not capped early.
inline constexpr size_t kLabsPerChunk = 512;
// Threads holding a LAB at the same time; one more thread gets ENOMEM from malloc.
inline constexpr size_t kMaxLabChunks = 2048;
inline constexpr size_t kMaxLabs = kLabsPerChunk * kMaxLabChunks;

template <class Os>
class LabRegistry {
 public:
  constexpr LabRegistry() = default;

  void Init() {
    num_created_ = 0;
    free_list_ = nullptr;
  }

  void Release() {
    for (Lab*& chunk : chunks_) {
      if (chunk != nullptr) Os::Release(chunk, kChunkBytes);
      chunk = nullptr;
    }
    num_created_ = 0;
    free_list_ = nullptr;
  }

  // nullptr when kMaxLabs threads hold LABs at once, or when the OS refuses a new chunk.
  Lab* Acquire(const void* allocator, uint64_t seed) {
    SpinLockGuard guard(lock_);
    Lab* lab = free_list_;
    if (lab != nullptr) {
      free_list_ = lab->next_free;
    } else {
      if (num_created_ == kMaxLabs) return nullptr;
      Lab*& chunk = chunks_[num_created_ / kLabsPerChunk];
      if (chunk == nullptr) {
        chunk = static_cast<Lab*>(Os::Reserve(kChunkBytes, kPageSize, /*accessible=*/true));
        if (chunk == nullptr) return nullptr;
      }
      lab = new (&chunk[num_created_ % kLabsPerChunk]) Lab();
      lab->index = static_cast<uint32_t>(num_created_);
      ++num_created_;
    }
    lab->allocator = allocator;
    lab->next_free = nullptr;
    lab->random_state = seed | 1;
    lab->in_use.store(true, std::memory_order_relaxed);
    return lab;
  }

  // The LAB must hold no spans any more.
  void Release(Lab* lab) {
    SpinLockGuard guard(lock_);
    lab->in_use.store(false, std::memory_order_relaxed);
    lab->next_free = free_list_;
    free_list_ = lab;
  }

  // Calls fn(Lab*) for every LAB in use. Caller must make sure no LAB is acquired or released meanwhile
  // (fork child, tests, statistics with the lock held through Lock()).
  template <class Fn>
  void ForEachInUse(Fn fn) {
    for (size_t i = 0; i < num_created_; ++i) {
      Lab* lab = &chunks_[i / kLabsPerChunk][i % kLabsPerChunk];
      if (lab->in_use.load(std::memory_order_relaxed)) fn(lab);
    }
  }

  SpinLock& lock() { return lock_; }
  size_t num_created() const { return num_created_; }

 private:
  static constexpr size_t kChunkBytes = AlignUp(kLabsPerChunk * sizeof(Lab), kPageSize);

  SpinLock lock_;
  Lab* chunks_[kMaxLabChunks] = {};
  size_t num_created_ = 0;
  Lab* free_list_ = nullptr;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_LAB_REGISTRY_H_
