// The size-class table: round trips, spacing (internal waste), alignment, real-span sizes.
#include "src/core/size_classes.h"

#include "gtest/gtest.h"

namespace scalloc::internal {
namespace {

TEST(SizeClassesTest, EverySizeMapsToTheSmallestClassThatHoldsIt) {
  for (size_t size = 0; size <= kMaxSmallSize; size += (size < 4096 ? 1 : 61)) {
    size_t cls = SizeToClass(size);
    ASSERT_LT(cls, kNumClasses) << size;
    ASSERT_GE(ClassToSize(cls), size) << size;
    if (cls > 0) {
      ASSERT_LT(ClassToSize(cls - 1), size == 0 ? 1 : size) << size;
    }
    ASSERT_EQ(cls, SizeToClassUncached(size)) << size;
  }
}

TEST(SizeClassesTest, FineClassesAreSixteenByteSteps) {
  for (size_t c = 0; c < kNumFineClasses; ++c) EXPECT_EQ(ClassToSize(c), (c + 1) * 16);
  EXPECT_EQ(ClassToSize(kNumFineClasses - 1), 256u);
}

TEST(SizeClassesTest, InternalWasteAtMostOneEighth) {
  for (size_t size = 257; size <= kMaxSmallSize; size += 7) {
    size_t block = ClassToSize(SizeToClass(size));
    EXPECT_LE((block - size) * 8, block) << size;
  }
}

TEST(SizeClassesTest, BlocksAreAlignedAndPowerOfTwoClassesExist) {
  for (size_t c = 0; c < kNumClasses; ++c) EXPECT_EQ(ClassToSize(c) % 16, 0u);
  for (size_t p = 16; p <= kMaxSmallSize; p *= 2) {
    EXPECT_EQ(ClassToSize(SizeToClass(p)), p);
  }
}

TEST(SizeClassesTest, AlignedClassHonoursAlignment) {
  for (size_t alignment = 32; alignment <= kMaxSmallSize; alignment *= 2) {
    for (size_t size : {size_t{1}, size_t{100}, alignment - 1, alignment, alignment + 1, size_t{5000}}) {
      size_t cls = AlignedSizeToClass(size, alignment);
      if (cls == kNumClasses) {
        EXPECT_GT(size, kMaxSmallSize / 2);
        continue;
      }
      EXPECT_EQ(ClassToSize(cls) % alignment, 0u);
      EXPECT_GE(ClassToSize(cls), size);
    }
  }
}

TEST(SizeClassesTest, RealSpansFitTheVirtualSpan) {
  for (size_t c = 0; c < kNumClasses; ++c) {
    const SizeClassInfo& info = kSizeClassInfo[c];
    // At least one page of every virtual span stays beyond the real span (the hardened guard).
    EXPECT_LE(info.real_span_bytes + kPageSize, kVirtualSpanBytes) << "class " << c;
    EXPECT_LE(info.num_blocks, kMaxBlocksPerSpan);
    EXPECT_GE(info.num_blocks, 1u);
    EXPECT_EQ(info.real_span_bytes % kPageSize, 0u);
    EXPECT_GE(info.real_span_bytes, info.num_blocks * info.block_bytes);
    // The page-rounding tail is less than a page.
    EXPECT_LT(info.real_span_bytes - info.num_blocks * info.block_bytes, kPageSize);
  }
}

TEST(SizeClassesTest, DivisionMagicIsExact) {
  for (size_t c = 0; c < kNumClasses; ++c) {
    const SizeClassInfo& info = kSizeClassInfo[c];
    for (uint64_t offset = 0; offset < kVirtualSpanBytes; offset += 977) {
      ASSERT_EQ((offset * info.div_magic) >> kDivisionShift, offset / info.block_bytes) << c << " " << offset;
    }
  }
}

}  // namespace
}  // namespace scalloc::internal
