// C++ operator new/delete bound to the hardened allocator.
#include "src/api/c_arg_checks.h"
#include "src/api/global.h"

namespace scalloc::api {
namespace {
SC_ALWAYS_INLINE internal::Allocator<internal::HardenedPolicy>& ApiAllocator() {
  return g_allocator<internal::HardenedPolicy>;
}
}  // namespace
}  // namespace scalloc::api

#include "src/api/new_delete_api.inc"
