// The process-wide allocator instances behind the malloc API: one constant-initialized Allocator per policy
// (a library links the override of exactly one of them). No static constructor runs: the first call
// initializes lazily, so allocation from the dynamic loader or other libraries' constructors works.
#ifndef SCALLOC_SRC_API_GLOBAL_H_
#define SCALLOC_SRC_API_GLOBAL_H_

#include "src/core/allocator.h"

namespace scalloc {

template <class Policy>
inline constinit internal::Allocator<Policy> g_allocator{};

}  // namespace scalloc

#endif  // SCALLOC_SRC_API_GLOBAL_H_
