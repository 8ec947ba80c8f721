// SystemOs: the calls a free() path can make leave errno as they found it, when they fail as when they succeed
// (free() must not change errno).
#include "src/os/os.h"

#include <errno.h>

#include "gtest/gtest.h"
#include "tests/support/died_from_fault.h"

namespace scalloc::internal {
namespace {

constexpr int kSentinel = 1789;

TEST(SystemOsTest, MemoryCallsThatFreeMakesKeepErrnoWhenTheyFail) {
  // A misaligned address makes each of them fail with EINVAL.
  char* region = static_cast<char*>(SystemOs::Map(4 * kPageSize));
  ASSERT_NE(region, nullptr);
  void* misaligned = region + 1;
  errno = kSentinel;
  SystemOs::Release(misaligned, kPageSize);
  EXPECT_EQ(errno, kSentinel);
  SystemOs::Decommit(misaligned, kPageSize);
  EXPECT_EQ(errno, kSentinel);
  EXPECT_FALSE(SystemOs::Commit(misaligned, kPageSize));
  EXPECT_EQ(errno, kSentinel);
  EXPECT_FALSE(SystemOs::Protect(misaligned, kPageSize));
  EXPECT_EQ(errno, kSentinel);
  EXPECT_FALSE(SystemOs::Revoke(misaligned, kPageSize));
  EXPECT_EQ(errno, kSentinel);
  SystemOs::Release(region, 4 * kPageSize);
}

TEST(SystemOsTest, RevokeKeepsContentsThatCommitMakesAccessibleAgain) {
  char* region = static_cast<char*>(SystemOs::Map(2 * kPageSize));
  ASSERT_NE(region, nullptr);
  region[0] = 42;
  region[kPageSize] = 43;
  errno = kSentinel;
  ASSERT_TRUE(SystemOs::Revoke(region, 2 * kPageSize));
  ASSERT_TRUE(SystemOs::Commit(region, 2 * kPageSize));
  EXPECT_EQ(errno, kSentinel);
  EXPECT_EQ(region[0], 42);
  EXPECT_EQ(region[kPageSize], 43);
  SystemOs::Release(region, 2 * kPageSize);
  EXPECT_EQ(errno, kSentinel);
}

TEST(SystemOsDeathTest, RevokedMemoryFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  char* region = static_cast<char*>(SystemOs::Map(kPageSize));
  ASSERT_NE(region, nullptr);
  ASSERT_TRUE(SystemOs::Revoke(region, kPageSize));
  EXPECT_EXIT((void)*reinterpret_cast<volatile char*>(region), scalloc::testing::DiedFromFault, "");
  SystemOs::Release(region, kPageSize);
}

}  // namespace
}  // namespace scalloc::internal
