// Every failure of the OS layer ends in NULL + ENOMEM and leaves the allocator consistent and usable.
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "src/core/allocator.h"
#include "tests/support/fault_os.h"
#include "tests/support/policies.h"
#include "tests/support/test_allocator.h"

namespace scalloc::internal {
namespace {

using scalloc::testing::AllPolicies;
using scalloc::testing::FaultOs;
using scalloc::testing::TestAllocator;

template <class P>
class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { FaultOs::DisableAll(); }
  void TearDown() override { FaultOs::DisableAll(); }
};
TYPED_TEST_SUITE(FaultInjectionTest, AllPolicies);

TYPED_TEST(FaultInjectionTest, FailedInitMakesAllocationsFailCleanlyUntilMemoryReturns) {
  FaultOs::reserve.FailAt(0, /*sticky=*/true);
  TestAllocator<TypeParam, FaultOs> allocator;
  EXPECT_FALSE(allocator.initialized());
  errno = 0;
  EXPECT_EQ(allocator->Alloc(32), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(allocator->AllocAligned(64, 100), nullptr);
  FaultOs::reserve.Disable();
  void* p = allocator->Alloc(32);  // Init is retried
  ASSERT_NE(p, nullptr);
  allocator->Free(p);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(FaultInjectionTest, EachReservationOfInitCanFail) {
  for (int n = 0; n < 4; ++n) {
    FaultOs::reserve.FailAt(n, /*sticky=*/false);
    TestAllocator<TypeParam, FaultOs> allocator;
    FaultOs::reserve.Disable();
    void* p = allocator->Alloc(100);  // a failed Init leaves nothing behind and can be retried
    ASSERT_NE(p, nullptr) << n;
    allocator->Free(p);
    EXPECT_TRUE(allocator->IsValidForTesting());
  }
}

// A thread's LAB lives in a chunk reserved when the first thread of that chunk arrives; if the OS refuses it,
// that thread's allocations fail with ENOMEM (nothing else breaks) until a later try succeeds.
TYPED_TEST(FaultInjectionTest, RefusedLabChunkIsEnomemForThatThreadOnly) {
  TestAllocator<TypeParam, FaultOs> allocator;
  FaultOs::reserve.FailAt(0, /*sticky=*/true);
  void* p = nullptr;
  int error = 0;
  std::thread([&] {
    errno = 0;
    p = allocator->Alloc(48);
    error = errno;
  }).join();
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(error, ENOMEM);
  FaultOs::reserve.Disable();
  std::thread([&] {
    p = allocator->Alloc(48);
    std::memset(p, 1, 48);
    allocator->Free(p);
  }).join();
  EXPECT_NE(p, nullptr);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(FaultInjectionTest, FailedLargeMappingIsEnomem) {
  TestAllocator<TypeParam, FaultOs> allocator;
  FaultOs::map.FailAt(0, /*sticky=*/true);
  errno = 0;
  EXPECT_EQ(allocator->Alloc(size_t{4} << 20), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(allocator->AllocAligned(size_t{4} << 20, 100), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  // realloc growth that cannot be served keeps the old block.
  void* p = allocator->Alloc(size_t{2} << 20);
  EXPECT_EQ(p, nullptr);
  FaultOs::map.Disable();
  p = allocator->Alloc(size_t{2} << 20);
  ASSERT_NE(p, nullptr);
  std::memset(p, 5, 100);
  FaultOs::map.FailAt(0, /*sticky=*/true);
  errno = 0;
  EXPECT_EQ(allocator->Realloc(p, size_t{64} << 20), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(static_cast<unsigned char*>(p)[99], 5);
  FaultOs::map.Disable();
  allocator->Free(p);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(FaultInjectionTest, RefusedRemapsOfLargeObjectsFallBackAndLoseNothing) {
  TestAllocator<TypeParam, FaultOs> allocator;
  const size_t mib = size_t{1} << 20;
  const size_t guards = TypeParam::kGuardLargeObjects ? 2 * kPageSize : 0;
  // A cached mapping the fast mode grows for a larger request: when the kernel refuses the grow, the request
  // maps afresh and the mapping stays cached with its pages. (The hardened mode maps afresh anyway.)
  allocator->Free(allocator->Alloc(4 * mib));
  if constexpr (!TypeParam::kGuardLargeObjects) FaultOs::map.FailAt(0, /*sticky=*/false);
  auto* p = static_cast<unsigned char*>(allocator->Alloc(6 * mib));
  ASSERT_NE(p, nullptr);
  if constexpr (!TypeParam::kGuardLargeObjects) {
    EXPECT_EQ(FaultOs::map.failures(), 1);
  }
  FaultOs::map.Disable();
  Stats stats;
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 4 * mib + guards);
  // realloc whose move the kernel refuses copies instead, keeping the contents.
  std::memset(p, 9, 6 * mib);
  FaultOs::map.FailAt(0, /*sticky=*/false);
  auto* q = static_cast<unsigned char*>(allocator->Realloc(p, 9 * mib));
  FaultOs::map.Disable();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[0], 9);
  EXPECT_EQ(q[6 * mib - 1], 9);
  EXPECT_EQ(allocator->UsableSize(q), 9 * mib);
  allocator->Free(q);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(FaultInjectionTest, ExhaustedArenaFallsBackToMappingsThenFailsCleanly) {
  // A 128 MiB address-space limit, and a sparse arena that cannot check its range (mappings fail while the
  // instance starts): the dense fallback takes a quarter of the limit, the smallest arena (32 MiB).
  FaultOs::address_space_limit = size_t{128} << 20;
  FaultOs::map.FailAt(0, /*sticky=*/true);
  TestAllocator<TypeParam, FaultOs> allocator;
  FaultOs::map.Disable();
  ASSERT_TRUE(allocator.initialized());
  EXPECT_FALSE(allocator->ArenaForTesting().sparse());
  EXPECT_EQ(allocator->ArenaForTesting().capacity_bytes(), size_t{32} << 20);
  std::vector<void*> blocks;
  // 48 MiB of 96-KiB blocks: more than the arena holds.
  for (int i = 0; i < 512; ++i) {
    void* p = allocator->Alloc(96 * 1024);
    ASSERT_NE(p, nullptr) << i;
    std::memset(p, 1, 96 * 1024);
    blocks.push_back(p);
  }
  EXPECT_GT(allocator->LiveBytesForTesting(), size_t{32} << 20);
  // With mappings failing too, allocation fails cleanly.
  FaultOs::map.FailAt(0, /*sticky=*/true);
  errno = 0;
  void* p = nullptr;
  for (int i = 0; i < 1000 && (p = allocator->Alloc(96 * 1024)) != nullptr; ++i) blocks.push_back(p);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(errno, ENOMEM);
  FaultOs::map.Disable();
  for (void* b : blocks) allocator->Free(b);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
  void* again = allocator->Alloc(96 * 1024);
  EXPECT_NE(again, nullptr);
  allocator->Free(again);
}

// The hardened mode maps each block above 128 KiB on its own (policy.h, kMaxSpanBlockBytes). Where no mapping
// can be made, or too many large objects are live for the process's map count, such a block comes from a span,
// with the same usable size, and everything works on both kinds alike.
TEST(FaultInjectionHardenedTest, BlocksAboveTheSpanLimitComeFromSpansWhenNoMappingCanBeMade) {
  FaultOs::DisableAll();
  TestAllocator<HardenedPolicy, FaultOs> allocator;
  const size_t size = 200 * 1024;
  auto* mapped = static_cast<char*>(allocator->Alloc(size));
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(allocator->SpanOfForTesting(mapped), nullptr);
  FaultOs::map.FailAt(0, /*sticky=*/true);
  auto* from_span = static_cast<char*>(allocator->Alloc(size));
  auto* zeroed = static_cast<char*>(allocator->AllocZeroed(1, size));
  FaultOs::DisableAll();
  ASSERT_NE(from_span, nullptr);
  ASSERT_NE(zeroed, nullptr);
  EXPECT_NE(allocator->SpanOfForTesting(from_span), nullptr);
  EXPECT_NE(allocator->SpanOfForTesting(zeroed), nullptr);
  EXPECT_EQ(allocator->UsableSize(from_span), allocator->UsableSize(mapped));
  for (size_t i = 0; i < size; i += 4096) EXPECT_EQ(zeroed[i], 0);
  std::memset(from_span, 3, size);
  // Moves between the two kinds keep the contents.
  from_span = static_cast<char*>(allocator->Realloc(from_span, 600 * 1024));
  ASSERT_NE(from_span, nullptr);
  EXPECT_EQ(allocator->SpanOfForTesting(from_span), nullptr);
  EXPECT_EQ(from_span[size - 1], 3);
  allocator->FreeSized(zeroed, size);
  allocator->Free(from_span);
  allocator->Free(mapped);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TEST(FaultInjectionHardenedTest, BlocksAboveTheSpanLimitComeFromSpansWhenManyLargeObjectsAreLive) {
  TestAllocator<HardenedPolicy> allocator;
  std::vector<void*> blocks;
  size_t in_spans = 0;
  for (int i = 0; i < 8192 + 64; ++i) {
    void* p = allocator->Alloc(140 * 1024);  // address space only: nothing is written
    ASSERT_NE(p, nullptr) << i;
    EXPECT_EQ(allocator->UsableSize(p), size_t{144} * 1024);
    in_spans += allocator->SpanOfForTesting(p) != nullptr;
    blocks.push_back(p);
  }
  EXPECT_EQ(in_spans, 64u);
  for (void* p : blocks) allocator->Free(p);
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TEST(FaultInjectionHardenedTest, RefusedGuardCommitFallsBackAndStaysConsistent) {
  FaultOs::DisableAll();
  TestAllocator<HardenedPolicy, FaultOs> allocator;
  FaultOs::commit.FailAt(0, /*sticky=*/true);
  void* p = allocator->Alloc(64);  // no span can be made accessible: a direct mapping serves it
  ASSERT_NE(p, nullptr);
  FaultOs::map.FailAt(0, /*sticky=*/true);
  errno = 0;
  EXPECT_EQ(allocator->Alloc(128), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  FaultOs::DisableAll();
  allocator->Free(p);
  void* q = allocator->Alloc(128);
  ASSERT_NE(q, nullptr);
  allocator->Free(q);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

}  // namespace
}  // namespace scalloc::internal
