// AddressSanitizer hooks: in ASan builds the allocator poisons the bodies of free blocks so ASan also catches
// use-after-free and overflows inside scalloc's own memory. No-ops otherwise.
#ifndef SCALLOC_SRC_BASE_ASAN_H_
#define SCALLOC_SRC_BASE_ASAN_H_

#include <cstddef>

#include "src/base/compiler.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_HAS_ASAN 1
#endif
#endif
#if !defined(SC_HAS_ASAN) && defined(__SANITIZE_ADDRESS__)
#define SC_HAS_ASAN 1
#endif

#if defined(SC_HAS_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace scalloc::internal {

#if defined(SC_HAS_ASAN)
inline constexpr bool kAsanBuild = true;
#else
inline constexpr bool kAsanBuild = false;
#endif

// Bytes at the start of a free block that stay addressable: the free-list link lives there.
inline constexpr size_t kFreeLinkBytes = 8;

SC_ALWAYS_INLINE void AsanPoisonFreeBlock(void* block, size_t size) {
#if defined(SC_HAS_ASAN)
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(block) + kFreeLinkBytes, size - kFreeLinkBytes);
#else
  (void)block;
  (void)size;
#endif
}

SC_ALWAYS_INLINE void AsanUnpoison(void* block, size_t size) {
#if defined(SC_HAS_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(block, size);
#else
  (void)block;
  (void)size;
#endif
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_ASAN_H_
