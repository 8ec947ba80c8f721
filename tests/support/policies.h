// Type lists for typed tests that run over the allocator's policies.
#ifndef SCALLOC_TESTS_SUPPORT_POLICIES_H_
#define SCALLOC_TESTS_SUPPORT_POLICIES_H_

#include <cstddef>

#include "gtest/gtest.h"
#include "src/core/policy.h"

namespace scalloc::testing {

// The hardened checks with the fast mode's block layout: fresh blocks in address order and every size class in
// spans (no large-object guards for them). Not shipped; it keeps the policy switches independent of each
// other, since a program linking the core may pick its own mix.
struct OrderedCheckedPolicy : internal::HardenedPolicy {
  static constexpr const char* kName = "ordered-checked";
  static constexpr bool kRandomizeFreshBlocks = false;
  static constexpr size_t kMaxSpanBlockBytes = internal::FastPolicy::kMaxSpanBlockBytes;
};
static_assert(internal::AllocatorPolicy<OrderedCheckedPolicy>);

// The two shipped policies.
using AllPolicies = ::testing::Types<internal::FastPolicy, internal::HardenedPolicy>;
// The shipped policies and a mix of their switches, for the behaviour every policy shares.
using PolicyMixes = ::testing::Types<internal::FastPolicy, internal::HardenedPolicy, OrderedCheckedPolicy>;

}  // namespace scalloc::testing

#endif  // SCALLOC_TESTS_SUPPORT_POLICIES_H_
