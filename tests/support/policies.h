// Type lists for typed tests that run over both policies.
#ifndef SCALLOC_TESTS_SUPPORT_POLICIES_H_
#define SCALLOC_TESTS_SUPPORT_POLICIES_H_

#include "gtest/gtest.h"
#include "src/core/policy.h"

namespace scalloc::testing {
using AllPolicies = ::testing::Types<internal::FastPolicy, internal::HardenedPolicy>;
}  // namespace scalloc::testing

#endif  // SCALLOC_TESTS_SUPPORT_POLICIES_H_
