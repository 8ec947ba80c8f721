// dlopen without RTLD_DEEPBIND (src/api/dlopen_api.inc), bound to the fast allocator's options (libscalloc.so).
#include "src/api/global.h"

namespace scalloc::api {
namespace {
internal::Allocator<internal::FastPolicy>& ApiAllocator() { return g_allocator<internal::FastPolicy>; }
}  // namespace
}  // namespace scalloc::api

#include "src/api/dlopen_api.inc"
