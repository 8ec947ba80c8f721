// What the fast mode does NOT catch (documented so nobody relies on it), and the misuse it still reports
// because the check is free on its slow paths.
#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "src/core/allocator.h"
#include "tests/support/test_allocator.h"

namespace scalloc::internal {
namespace {

using scalloc::testing::TestAllocator;

TEST(FastModeKnownGapsTest, LocalDoubleFreeIsNotDetected) {
  TestAllocator<FastPolicy> allocator;
  void* p = allocator->Alloc(64);
  allocator->Free(p);
  allocator->Free(p);  // silently puts the block on the free list twice
  void* a = allocator->Alloc(64);
  void* b = allocator->Alloc(64);
  EXPECT_EQ(a, b) << "the same block is handed out twice: the hardened mode exists for this";
}

TEST(FastModeKnownGapsTest, FreeListLinksAreStoredInTheClear) {
  TestAllocator<FastPolicy> allocator;
  void* p = allocator->Alloc(64);
  void* q = allocator->Alloc(64);
  allocator->Free(q);
  allocator->Free(p);
  void* link;
  std::memcpy(&link, p, sizeof(link));
  EXPECT_EQ(link, q);
}

TEST(FastModeKnownGapsTest, ZeroOnFreeIsIgnoredAndSaysSo) {
  Options options = scalloc::testing::TestOptions();
  options.zero_on_free = 1;
  ::testing::internal::CaptureStderr();
  TestAllocator<FastPolicy> allocator(options);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("the fast library ignores it"), std::string::npos);
  auto* p = static_cast<unsigned char*>(allocator->Alloc(64));
  std::memset(p, 0xab, 64);
  allocator->Free(p);
  AsanUnpoison(p, 64);  // reading a free block on purpose
  EXPECT_EQ(p[63], 0xab) << "the block keeps its contents";
  AsanPoisonFreeBlock(p, 64);
}

TEST(FastModeKnownGapsTest, InteriorPointerFreeIsNotDetected) {
  TestAllocator<FastPolicy> allocator;
  auto* p = static_cast<char*>(allocator->Alloc(128));
  EXPECT_EQ(allocator->UsableSize(p + 16), 128u) << "no block-boundary check in fast mode";
}

TEST(FastModeKnownGapsTest, SizedFreeIsNotChecked) {
  TestAllocator<FastPolicy> allocator;
  void* p = allocator->Alloc(64);
  allocator->FreeSized(p, 5000);  // accepted
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TEST(FastModeCheapChecksDeathTest, FreeOfForeignPointerIsStillReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TestAllocator<FastPolicy> allocator;
  char local[64];
  EXPECT_DEATH(allocator->Free(local), "scalloc: invalid free of 0x");
  void* large = allocator->Alloc(size_t{2} << 20);
  allocator->Free(large);
  EXPECT_DEATH(allocator->Free(large), "scalloc: double free of 0x");
  EXPECT_DEATH(allocator->Realloc(local, 100), "scalloc: invalid free of 0x[0-9a-f]+ \\(not allocated by scalloc\\)");
}

}  // namespace
}  // namespace scalloc::internal
