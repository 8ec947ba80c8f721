// Helpers for the multithreaded stress tests: resident-set readings from /proc and block content patterns
// that identify which thread wrote a block.

#ifndef TESTS_STRESS_STRESS_UTIL_H_
#define TESTS_STRESS_STRESS_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tests/support/proc_statm.h"

namespace scalloc {
namespace stress {

constexpr size_t kMiB = size_t{1} << 20;

using scalloc::testing::ResidentBytes;

inline size_t ToMiB(size_t bytes) { return bytes / kMiB; }

// Hides a value from the optimizer so allocation calls and stores stay real.
inline void Escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

// One word of the pattern a block carries: derived from a 64-bit tag (thread, sequence) and the word index.
inline uint64_t PatternWord(uint64_t tag, size_t index) {
  uint64_t x = tag * 0x9e3779b97f4a7c15ull + index;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 32;
  return x;
}

// Fills (or checks) the first and last `edge_bytes` of a block with the tag's pattern; large blocks are only
// sampled at both ends so checking stays cheap. Sizes are multiples of 8 in these tests.
inline void FillBlock(void* p, size_t size, uint64_t tag, size_t edge_bytes = 4096) {
  auto* words = static_cast<uint64_t*>(p);
  const size_t count = size / 8;
  const size_t edge = edge_bytes / 8;
  for (size_t i = 0; i < count; ++i) {
    if (i == edge && count > 2 * edge) i = count - edge;
    words[i] = PatternWord(tag, i);
  }
  Escape(p);
}

inline bool CheckBlock(const void* p, size_t size, uint64_t tag, size_t edge_bytes = 4096) {
  Escape(p);
  const auto* words = static_cast<const uint64_t*>(p);
  const size_t count = size / 8;
  const size_t edge = edge_bytes / 8;
  for (size_t i = 0; i < count; ++i) {
    if (i == edge && count > 2 * edge) i = count - edge;
    if (words[i] != PatternWord(tag, i)) return false;
  }
  return true;
}

// Small deterministic generator, so every run allocates the same sizes in the same order per thread.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 2 + 1) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t bound) { return static_cast<size_t>(Next() % bound); }

 private:
  uint64_t state_;
};

// A size mix dominated by small classes with a tail of coarse classes and the odd large object; always a
// multiple of 8 and at least 16 so a block can hold two words of bookkeeping.
inline size_t MixedSize(Rng& rng) {
  const size_t roll = rng.Below(1000);
  if (roll < 700) return 16 + 8 * rng.Below(31);           // 16..256
  if (roll < 950) return 256 + 8 * rng.Below(480);         // 256..4 KiB
  if (roll < 998) return 4096 + 8 * rng.Below(12 * 1024);  // 4..100 KiB
  return kMiB + 8 * rng.Below(64 * 1024);                  // 1..1.5 MiB
}

}  // namespace stress
}  // namespace scalloc

#endif  // TESTS_STRESS_STRESS_UTIL_H_
