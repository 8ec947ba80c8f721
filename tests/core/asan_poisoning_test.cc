// ASan builds poison the bodies of free blocks. The poisoning must not outlive the memory it describes: a span
// that goes back to the pool, and an instance that releases its arena, leave no poisoned shadow behind (the
// kernel may place the next mapping, a large object of the next instance say, in the released range, and ASan
// would report a write to that fresh memory as use-after-poison). Skipped in builds without ASan.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "src/base/asan.h"
#include "src/core/allocator.h"
#include "tests/support/policies.h"
#include "tests/support/test_allocator.h"

namespace scalloc::internal {
namespace {

using scalloc::testing::AllPolicies;
using scalloc::testing::TestAllocator;

template <class P>
class AsanPoisoningTest : public ::testing::Test {};
TYPED_TEST_SUITE(AsanPoisoningTest, AllPolicies);

bool BodyIsPoisoned(const void* block) {
#if defined(SC_HAS_ASAN)
  // The first kFreeLinkBytes stay addressable in a free block; the byte after them is poisoned.
  return __asan_address_is_poisoned(static_cast<const char*>(block) + kFreeLinkBytes) != 0;
#else
  (void)block;
  return false;
#endif
}

TYPED_TEST(AsanPoisoningTest, RetiredSpansAndReleasedArenasLeaveNoPoisoning) {
  if (!kAsanBuild) GTEST_SKIP() << "needs an AddressSanitizer build";
  std::vector<void*> freed;
  {
    TestAllocator<TypeParam> allocator;
    ASSERT_TRUE(allocator.initialized());
    // Several spans' worth of two classes; the later blocks of each stay live, so the instance is released with
    // spans that still hold poisoned free blocks as well as spans that retired.
    for (size_t size : {size_t{48}, size_t{1000}}) {
      std::vector<void*> blocks;
      for (int i = 0; i < 6000; ++i) blocks.push_back(allocator->Alloc(size));
      for (size_t i = 0; i < blocks.size(); ++i) {
        ASSERT_NE(blocks[i], nullptr);
        if (i % 2 == 0 || i < blocks.size() / 2) {
          allocator->Free(blocks[i]);
          freed.push_back(blocks[i]);
        }
      }
    }
    size_t retired = 0;
    size_t poisoned = 0;
    for (void* block : freed) {
      if (allocator->SpanOfForTesting(block)->block_bytes == 0) {
        ++retired;
        EXPECT_FALSE(BodyIsPoisoned(block)) << block << " lies in a span back in the pool";
      } else if (BodyIsPoisoned(block)) {
        ++poisoned;
      }
    }
    EXPECT_GT(retired, 0u) << "no span retired; the test does not cover RetireSpan";
    EXPECT_GT(poisoned, 0u) << "no free block is poisoned; the test does not cover live spans";
  }
  size_t left = 0;
  for (void* block : freed) left += BodyIsPoisoned(block) ? 1 : 0;
  EXPECT_EQ(left, 0u) << "free blocks of a released instance still poisoned";
}

}  // namespace
}  // namespace scalloc::internal
