// dlopen without RTLD_DEEPBIND (src/api/dlopen_api.inc), bound to the hardened allocator's options
// (libscalloc_hardened.so).
#include "src/api/global.h"

namespace scalloc::api {
namespace {
internal::Allocator<internal::HardenedPolicy>& ApiAllocator() { return g_allocator<internal::HardenedPolicy>; }
}  // namespace
}  // namespace scalloc::api

#include "src/api/dlopen_api.inc"
