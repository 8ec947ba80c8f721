// The C allocation API bound to the hardened allocator (libscalloc_hardened.so).
#include "src/api/global.h"

namespace scalloc::api {
namespace {
SC_ALWAYS_INLINE internal::Allocator<internal::HardenedPolicy>& ApiAllocator() {
  return g_allocator<internal::HardenedPolicy>;
}
}  // namespace
}  // namespace scalloc::api

#include "src/api/malloc_api.inc"
