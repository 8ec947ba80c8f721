// Single-bit atomic test-and-set / test-and-clear. On x86-64 these are one `lock bts` / `lock btr`; the
// portable fetch_or/fetch_and form compiles to a compare-exchange loop with clang 14 when the old bit is used.
#ifndef SCALLOC_SRC_BASE_ATOMIC_BITS_H_
#define SCALLOC_SRC_BASE_ATOMIC_BITS_H_

#include <atomic>
#include <cstdint>

#include "src/base/compiler.h"

namespace scalloc::internal {

static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t));

// Sets bit `bit` (0..63) of `word`; returns its previous value. Relaxed ordering.
SC_ALWAYS_INLINE bool AtomicTestAndSetBit(std::atomic<uint64_t>& word, unsigned bit) {
#if defined(__x86_64__)
  bool was_set;
  __asm__ volatile("lock btsq %2, %0" : "+m"(word), "=@ccc"(was_set) : "r"(uint64_t{bit}) : "memory");
  return was_set;
#else
  uint64_t mask = uint64_t{1} << bit;
  return (word.fetch_or(mask, std::memory_order_relaxed) & mask) != 0;
#endif
}

// Clears bit `bit` (0..63) of `word`; returns its previous value. Relaxed ordering.
SC_ALWAYS_INLINE bool AtomicTestAndClearBit(std::atomic<uint64_t>& word, unsigned bit) {
#if defined(__x86_64__)
  bool was_set;
  __asm__ volatile("lock btrq %2, %0" : "+m"(word), "=@ccc"(was_set) : "r"(uint64_t{bit}) : "memory");
  return was_set;
#else
  uint64_t mask = uint64_t{1} << bit;
  return (word.fetch_and(~mask, std::memory_order_relaxed) & mask) != 0;
#endif
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_ATOMIC_BITS_H_
