// Helpers shared by the malloc/new API tests: values the optimizer must not see through, and alignment checks.
// Both the compiler and the allocator's `malloc` attributes allow folding calls whose result looks unused or whose
// argument is a known constant; these keep every call real.

#ifndef TESTS_API_API_TEST_UTIL_H_
#define TESTS_API_API_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>

#include "tests/support/proc_statm.h"

namespace scalloc {
namespace testing_util {

// Returns `value` unchanged, but the compiler can no longer treat it as a constant.
template <class T>
inline T Launder(T value) {
  asm volatile("" : "+r"(value));
  return value;
}

// Makes `p` (and the memory it points to) escape, so allocation/free pairs and stores are not elided.
inline void Escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

inline uintptr_t Address(const void* p) { return Launder(reinterpret_cast<uintptr_t>(p)); }

inline bool IsAligned(const void* p, size_t alignment) { return Address(p) % alignment == 0; }

using scalloc::testing::VirtualMemoryBytes;

// Deterministic byte pattern so contents checks after realloc/reuse can tell blocks apart.
inline unsigned char PatternByte(size_t seed, size_t i) {
  return static_cast<unsigned char>((seed * 131u + i * 7u + (i >> 8)) & 0xff);
}

inline void FillPattern(void* p, size_t n, size_t seed) {
  auto* bytes = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) bytes[i] = PatternByte(seed, i);
  Escape(p);
}

// Returns the index of the first byte that differs from the pattern, or n when all match.
inline size_t CheckPattern(const void* p, size_t n, size_t seed) {
  Escape(p);
  const auto* bytes = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != PatternByte(seed, i)) return i;
  }
  return n;
}

}  // namespace testing_util
}  // namespace scalloc

#endif  // TESTS_API_API_TEST_UTIL_H_
