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

// Hardened: fresh blocks are handed out in random order within windows of this many consecutive blocks.
inline constexpr uint32_t kFreshWindowBlocks = 8;

// Hardened: the order in which the blocks of a hot span's current window of fresh blocks (the up to
// kFreshWindowBlocks blocks from its bump pointer on) are handed out, packed in one word: bits [0,24) the slots
// still to hand out, 3 bits each, next first; [24,28) how many are left; [28,32) the window's size. 0: no window
// is open.
class FreshWindow {
 public:
  // A window of `size` (1..8) blocks handed out in `order` (a permutation of 0..size-1).
  static constexpr uint32_t Open(const uint8_t* order, uint32_t size) {
    uint32_t word = size << 28 | size << 24;
    for (uint32_t k = 0; k < size; ++k) word |= uint32_t{order[k]} << (3 * k);
    return word;
  }
  static constexpr uint32_t NextSlot(uint32_t word) { return word & 7; }
  static constexpr uint32_t Remaining(uint32_t word) { return (word >> 24) & 15; }
  static constexpr uint32_t Size(uint32_t word) { return word >> 28; }
  // The window after its next slot is handed out, when that is not its last one.
  static constexpr uint32_t AfterTakingOneOfSeveral(uint32_t word) {
    return (word & 0xf0000000u) | ((word - (1u << 24)) & 0x0f000000u) | ((word & 0xffffffu) >> 3);
  }
  // How many of its blocks have been handed out (0 when no window is open).
  static constexpr uint32_t Taken(uint32_t word) { return Size(word) - Remaining(word); }
  // Bit k set: slot k has been handed out.
  static constexpr uint32_t TakenMask(uint32_t word) {
    if (word == 0) return 0;
    uint32_t untaken = 0;
    for (uint32_t k = 0; k < Remaining(word); ++k) untaken |= 1u << ((word >> (3 * k)) & 7);
    return ((1u << Size(word)) - 1) & ~untaken;
  }
};

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
  // Hardened: per class, the hot span's open window of fresh blocks (a FreshWindow word; 0: none).
  uint32_t fresh_window[kNumClasses] = {};
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
