// Lab: a thread's local allocation buffer, one hot span per size class. Only its owning thread touches it
// (apart from the registry handing it over at thread exit or fork). A constant empty LAB is what every thread
// starts with, so the fast path needs no "initialized?" branch.
#ifndef SCALLOC_SRC_CORE_LAB_H_
#define SCALLOC_SRC_CORE_LAB_H_

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>

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

// At most this many blocks wait in one remote batch.
inline constexpr uint32_t kRemoteBatchBlocks = 64;

// A LAB keeps this many remote batches, each for one span at a time, picked by the span's metadata address: a
// thread whose frees alternate between spans it no longer holds (random frees of older blocks, blocks another
// thread allocated) still chains them instead of pushing one block per CAS. All of them are pushed whenever the
// thread refills a class, so their blocks never wait longer than the thread's next refill (or its exit).
inline constexpr uint32_t kRemoteBatchSlots = 16;
// Remote frees of blocks this big or bigger are not batched (a CAS each costs little next to the block); so the
// batches of a LAB hold at most 16 spans of up to 256 KiB (16 KiB blocks), 4 MiB, between refills.
inline constexpr uint32_t kUnbatchedBlockBytes = 16 * 1024;
// The byte offset of `span`'s batch in a LAB's array: its metadata index modulo kRemoteBatchSlots, scaled, in one
// shift and one mask (on the free fast path; the index form takes a shift more).
inline uintptr_t RemoteBatchOffsetOf(const SpanMeta* span) {
  static_assert(sizeof(SpanMeta) % sizeof(RemoteBatch) == 0 && (kRemoteBatchSlots & (kRemoteBatchSlots - 1)) == 0);
  constexpr uintptr_t kScale = sizeof(SpanMeta) / sizeof(RemoteBatch);  // a power of two: both are
  static_assert((kScale & (kScale - 1)) == 0);
  return (reinterpret_cast<uintptr_t>(span) / kScale) & ((kRemoteBatchSlots - 1) * sizeof(RemoteBatch));
}

// Hardened: fresh blocks are handed out in random order within windows of this many consecutive blocks.
inline constexpr uint32_t kFreshWindowBlocks = 8;

// Hardened: a hot span's open window of fresh blocks, one word per class in the LAB. Opening a window moves
// the span's bump pointer past its up to kFreshWindowBlocks blocks; the word lists those still to hand out, next
// first, 4 bits each, as their distance below the bump pointer in blocks (1..8). No listed distance is 0, so
// the word is 0 exactly when no block of the window is left (or none was opened). The bump pointer moves before
// the word lists the blocks, and a block leaves the word before it is marked allocated: a fork() child that
// releases the LAB as an orphan in between at worst leaks blocks, never hands one out twice.
class FreshWindow {
 public:
  // The window of the `size` (1..8) blocks below the bump pointer in a uniformly random order: Fisher-Yates over
  // the distances as bytes, 8 bits of `random_bits` per swap by Lemire's multiply-shift (off uniform by at most
  // 1/256 per swap), then packed to nibbles in three steps.
  static uint32_t Shuffled(uint32_t size, uint64_t random_bits) {
    uint8_t distances[kFreshWindowBlocks] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (uint32_t i = size - 1; i > 0; --i, random_bits >>= 8) {
      const uint32_t j = static_cast<uint32_t>(((random_bits & 0xff) * (i + 1)) >> 8);
      const uint8_t swapped = distances[i];
      distances[i] = distances[j];
      distances[j] = swapped;
    }
    static_assert(std::endian::native == std::endian::little);
    uint64_t bytes;  // distances[k] at bits [8k, 8k + 8)
    std::memcpy(&bytes, distances, sizeof(bytes));
    bytes = (bytes | (bytes >> 4)) & 0x00ff00ff00ff00ffull;
    bytes = (bytes | (bytes >> 8)) & 0x0000ffff0000ffffull;
    const uint32_t word = static_cast<uint32_t>(bytes | (bytes >> 16));
    return size >= kFreshWindowBlocks ? word : word & ((1u << (4 * size)) - 1);
  }
  static constexpr uint32_t NextDistance(uint32_t word) { return word & 15; }
  static constexpr uint32_t AfterTakingOne(uint32_t word) { return word >> 4; }
  // How many blocks of the window are still to hand out.
  static constexpr uint32_t Remaining(uint32_t word) {
    uint32_t n = 0;
    for (; word != 0; word >>= 4) ++n;
    return n;
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
  RemoteBatch remote_batches[kRemoteBatchSlots];
  const void* allocator = nullptr;  // the Allocator instance this LAB belongs to
  Lab* next_free = nullptr;         // registry free list
  uint64_t random_state = 0;        // per-LAB generator for randomized block order (hardened)
  // Hardened: per class, the hot span's open window of fresh blocks (a FreshWindow word; 0: none left).
  uint32_t fresh_window[kNumClasses] = {};
  uint32_t index = 0;               // position in the registry; also picks the span-pool partition
  std::atomic<bool> in_use{false};  // set and cleared by the registry; read racily as a hint (span revival)
};

// The remote batch of `lab` that frees into `span` use (RemoteBatchOffsetOf).
inline RemoteBatch& RemoteBatchFor(Lab* lab, const SpanMeta* span) {
  return *reinterpret_cast<RemoteBatch*>(reinterpret_cast<char*>(lab->remote_batches) + RemoteBatchOffsetOf(span));
}

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
