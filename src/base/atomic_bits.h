// Single-bit atomic test-and-complement. On x86-64 this is one `lock btc`; the portable fetch_xor form compiles
// to a compare-exchange loop with clang 14 when the old bit is used.
#ifndef SCALLOC_SRC_BASE_ATOMIC_BITS_H_
#define SCALLOC_SRC_BASE_ATOMIC_BITS_H_

#include <atomic>
#include <cstdint>

#include "src/base/compiler.h"

namespace scalloc::internal {

static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t));

// Flips bit `bit` (0..63) of `word`; returns its previous value. Relaxed ordering.
SC_ALWAYS_INLINE bool AtomicTestAndComplementBit(std::atomic<uint64_t>& word, unsigned bit) {
#if defined(__x86_64__)
  bool was_set;
  __asm__ volatile("lock btcq %2, %0" : "+m"(word), "=@ccc"(was_set) : "r"(uint64_t{bit}) : "memory");
  return was_set;
#else
  uint64_t mask = uint64_t{1} << bit;
  return (word.fetch_xor(mask, std::memory_order_relaxed) & mask) != 0;
#endif
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_ATOMIC_BITS_H_
