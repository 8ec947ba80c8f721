// Lab: a thread's local allocation buffer, one hot span per size class. Only its owning thread touches it
// (apart from the registry handing it over at thread exit or fork). A constant empty LAB is what every thread
// starts with, so the fast path needs no "initialized?" branch.
#ifndef SCALLOC_SRC_CORE_LAB_H_
#define SCALLOC_SRC_CORE_LAB_H_

#include <atomic>
#include <cstdint>

#include "src/core/size_classes.h"
#include "src/core/span.h"

namespace scalloc::internal {

// Frees into one span that this thread does not hold hot, chained locally and pushed to the span's remote
// list with a single CAS (Allocator::FlushRemoteBatch). Written only by the owning thread; the order of the
// stores (link, head, then count) keeps `count` at most the chain's length even if a fork interrupts it.
struct RemoteBatch {
  SpanMeta* span = nullptr;
  void* head = nullptr;
  void* tail = nullptr;
  uint32_t count = 0;
};

// At most this many blocks wait in a LAB's remote batch.
inline constexpr uint32_t kRemoteBatchBlocks = 64;

struct Lab {
  constexpr Lab() {
    for (SpanMeta*& span : hot) span = &kEmptySpan;
  }

  // Invariant: hot[c] is &kEmptySpan or a span in state kHot whose owner is this LAB.
  SpanMeta* hot[kNumClasses];
  // Cumulative counts of this LAB's allocations and frees per class (plain increments by the owner; summed
  // racily by statistics, folded into the instance's totals when the LAB is released).
  uint64_t allocated_blocks[kNumClasses] = {};
  uint64_t freed_blocks[kNumClasses] = {};
  RemoteBatch remote_batch;
  const void* allocator = nullptr;  // the Allocator instance this LAB belongs to
  Lab* next_free = nullptr;         // registry free list
  uint64_t random_state = 0;        // per-LAB generator for randomized block order (hardened)
  uint32_t index = 0;               // position in the registry; also picks the span-pool partition
  std::atomic<bool> in_use{false};  // set and cleared by the registry; read racily as a hint (span revival)
};

// Never written: its hot spans are all kEmptySpan.
inline constinit Lab kEmptyLab{};

// The per-thread binding cached in TLS: which allocator instance (by token) `lab` belongs to. A thread that switches
// instances (tests, the differential fuzzer) sees a mismatch and rebinds in the slow path.
struct ThreadBinding {
  uint64_t token = 0;  // the bound instance's token (0: none)
  Lab* lab = &kEmptyLab;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_LAB_H_
