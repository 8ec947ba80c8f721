// Argument rules of the C allocation API that glibc applies before allocating (alignment validity, size
// rounding, overflow), kept apart from the forwarding code in malloc_api.inc.
#ifndef SCALLOC_SRC_API_C_ARG_CHECKS_H_
#define SCALLOC_SRC_API_C_ARG_CHECKS_H_

#include <cstddef>
#include <cstdint>

#include "src/base/bits.h"
#include "src/os/os.h"

namespace scalloc::api {

// memalign/aligned_alloc (glibc 2.36): alignments below 16 mean 16; others are rounded up to a power of two;
// an alignment too large to be a power of two fails with EINVAL (returns 0 then).
constexpr size_t NormalizeMemalignAlignment(size_t alignment) {
  if (alignment <= 16) return 16;
  if (alignment > (SIZE_MAX / 2 + 1)) return 0;
  return internal::IsPowerOfTwo(alignment) ? alignment : size_t{1} << internal::Log2Ceil(alignment);
}

// posix_memalign: a power of two and a multiple of sizeof(void*), else EINVAL.
constexpr bool IsValidPosixAlignment(size_t alignment) {
  return internal::IsPowerOfTwo(alignment) && alignment % sizeof(void*) == 0;
}

// pvalloc rounds the size up to whole pages (0 becomes one page); false on overflow.
constexpr bool PvallocSize(size_t size, size_t* out) {
  if (size == 0) size = 1;
  return internal::TryAlignUp(size, internal::kPageSize, out);
}

}  // namespace scalloc::api

#endif  // SCALLOC_SRC_API_C_ARG_CHECKS_H_
