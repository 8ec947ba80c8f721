// The two instantiations every binary shares (allocator.h declares them extern).
#include "src/core/allocator.h"

namespace scalloc::internal {
template class Allocator<FastPolicy, SystemOs>;
template class Allocator<HardenedPolicy, SystemOs>;
}  // namespace scalloc::internal
