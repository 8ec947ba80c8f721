// The C allocation API bound to the fast allocator (libscalloc.so).
#include "src/api/global.h"

namespace scalloc::api {
namespace {
SC_ALWAYS_INLINE internal::Allocator<internal::FastPolicy>& ApiAllocator() { return g_allocator<internal::FastPolicy>; }
}  // namespace
}  // namespace scalloc::api

#include "src/api/malloc_api.inc"
