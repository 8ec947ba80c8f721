// constexpr helpers for powers of two, logarithms and alignment. Pure functions, no state.
#ifndef SCALLOC_SRC_BASE_BITS_H_
#define SCALLOC_SRC_BASE_BITS_H_

#include <cstddef>
#include <cstdint>

namespace scalloc::internal {

constexpr bool IsPowerOfTwo(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

// floor(log2(x)) for x > 0.
constexpr unsigned Log2Floor(size_t x) { return 63u - static_cast<unsigned>(__builtin_clzll(x)); }

// ceil(log2(x)) for x > 0.
constexpr unsigned Log2Ceil(size_t x) { return x <= 1 ? 0 : Log2Floor(x - 1) + 1; }

constexpr uintptr_t AlignDown(uintptr_t x, size_t alignment) { return x & ~(uintptr_t{alignment} - 1); }

constexpr uintptr_t AlignUp(uintptr_t x, size_t alignment) { return (x + alignment - 1) & ~(uintptr_t{alignment} - 1); }

// AlignUp that reports overflow instead of wrapping: false when x + alignment - 1 overflows.
constexpr bool TryAlignUp(size_t x, size_t alignment, size_t* out) {
  size_t sum;
  if (__builtin_add_overflow(x, alignment - 1, &sum)) return false;
  *out = sum & ~(alignment - 1);
  return true;
}

constexpr uint64_t RotateLeft(uint64_t x, unsigned r) { return (x << (r & 63)) | (x >> ((64 - r) & 63)); }

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_BITS_H_
