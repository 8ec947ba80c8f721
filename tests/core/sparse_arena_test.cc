// Sparse arenas (Arena::TryReserveSparse): under an address-space limit only real spans are mapped, one mapping
// each, so the limit and not the span count bounds the heap; spans that change classes map more or unmap their
// tail; pooled spans give their address space back; the hardened mode's guards are the unmapped holes.
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "src/base/asan.h"
#include "src/core/allocator.h"
#include "src/core/unreserved_range.h"
#include "tests/support/died_from_fault.h"
#include "tests/support/fault_os.h"
#include "tests/support/policies.h"
#include "tests/support/proc_statm.h"
#include "tests/support/test_allocator.h"

namespace scalloc::internal {
namespace {

using scalloc::testing::AllPolicies;
using scalloc::testing::FaultOs;
using scalloc::testing::kBiggestSpanBlock;
using scalloc::testing::ResidentBytes;
using scalloc::testing::TestAllocator;
using scalloc::testing::VirtualMemoryBytes;

constexpr size_t kLimit = size_t{1} << 30;  // what FaultOs reports as RLIMIT_AS (it is not enforced)

template <class P>
class SparseArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FaultOs::DisableAll();
    FaultOs::address_space_limit = kLimit;
  }
  void TearDown() override { FaultOs::DisableAll(); }
};
TYPED_TEST_SUITE(SparseArenaTest, AllPolicies);

TYPED_TEST(SparseArenaTest, OnlyRealSpansCountAgainstTheLimit) {
  TestAllocator<TypeParam, FaultOs> allocator;
  ASSERT_TRUE(allocator.initialized());
  const auto& arena = allocator->ArenaForTesting();
  ASSERT_TRUE(arena.sparse());
  // Enough spans for the limit filled with 64 KiB real spans, far more than a dense arena's limit/4.
  EXPECT_EQ(arena.capacity_bytes(), kLimit / kTargetRealSpanBytes * kVirtualSpanBytes);
  // 300 spans of 64-byte blocks: 19 MiB of blocks, 600 MiB of virtual spans.
  const size_t count = 300 * kSizeClassInfo[SizeToClass(64)].num_blocks;
  std::vector<unsigned char*> blocks;
  blocks.reserve(count);  // the test's own memory is mapped before the measurement starts
  const size_t before = VirtualMemoryBytes();
  for (size_t i = 0; i < count; ++i) {
    auto* p = static_cast<unsigned char*>(allocator->Alloc(64));
    ASSERT_NE(p, nullptr) << i;
    ASSERT_TRUE(arena.Contains(reinterpret_cast<uintptr_t>(p))) << i;  // not the per-block fallback
    p[0] = static_cast<unsigned char>(i);
    p[63] = static_cast<unsigned char>(i >> 8);
    blocks.push_back(p);
  }
  const size_t grown = VirtualMemoryBytes() - before;
  EXPECT_LT(grown, count * 64 * 5 / 4 + (size_t{8} << 20)) << "virtual spans are mapped whole";
  for (size_t i = 0; i < count; ++i) {
    ASSERT_EQ(blocks[i][0], static_cast<unsigned char>(i));
    ASSERT_EQ(blocks[i][63], static_cast<unsigned char>(i >> 8));
    allocator->Free(blocks[i]);
  }
  EXPECT_TRUE(allocator->IsValidForTesting());
  // Pooled spans unmap: address space comes back, not only pages.
  allocator->Trim();
  // What stays is the metadata arrays' growth and the hot span.
  EXPECT_LT(VirtualMemoryBytes(), before + (size_t{4} << 20));
}

TYPED_TEST(SparseArenaTest, SpansThatChangeClassesMapExactlyWhatTheyNeed) {
  TestAllocator<TypeParam, FaultOs> allocator;
  ASSERT_TRUE(allocator->ArenaForTesting().sparse());
  // Big classes first (real spans near 2 MiB), then small ones reuse their spans from the pool, then big again
  // (the biggest blocks kept in spans: 1 MiB fast, 128 KiB hardened).
  constexpr size_t kBiggest = kBiggestSpanBlock<TypeParam>;
  for (size_t size : {kBiggest / 4 * 3, size_t{48}, size_t{96} << 10, size_t{16}, kBiggest}) {
    const size_t class_id = SizeToClass(size);
    const SizeClassInfo& info = kSizeClassInfo[class_id];
    std::vector<void*> blocks;
    for (size_t i = 0; i < 40 * size_t{info.num_blocks}; ++i) {
      void* p = allocator->Alloc(size);
      ASSERT_NE(p, nullptr);
      std::memset(p, static_cast<int>(i), size);
      blocks.push_back(p);
    }
    for (void* p : blocks) {
      const SpanMeta* span = allocator->SpanOfForTesting(p);
      ASSERT_NE(span, nullptr);
      // Exactly the real span, or (fast mode) a tail too small to be worth unmapping.
      EXPECT_GE(span->mapped_bytes, info.real_span_bytes) << size;
      EXPECT_LT(span->mapped_bytes, info.real_span_bytes + (TypeParam::kGuardRegions ? 1 : 64 * 1024)) << size;
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      ASSERT_EQ(static_cast<unsigned char*>(blocks[i])[size - 1], static_cast<unsigned char>(i)) << size;
      allocator->Free(blocks[i]);
    }
    EXPECT_TRUE(allocator->IsValidForTesting()) << size;
  }
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(SparseArenaTest, ASpanThatCannotBeMappedFallsBackAndLosesNothing) {
  TestAllocator<TypeParam, FaultOs> allocator;
  ASSERT_TRUE(allocator->ArenaForTesting().sparse());
  void* first = allocator->Alloc(64);
  ASSERT_NE(first, nullptr);
  // Every mapping fails from now on: a new class finds no span it can map, nor a direct mapping.
  FaultOs::map.FailAt(0, /*sticky=*/true);
  errno = 0;
  EXPECT_EQ(allocator->Alloc(5000), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  FaultOs::map.Disable();
  void* second = allocator->Alloc(5000);
  ASSERT_NE(second, nullptr);
  std::memset(second, 3, 5000);
  allocator->Free(first);
  allocator->Free(second);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TEST(SparseArenaHardenedDeathTest, AnOverflowOutOfASparseSpanFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FaultOs::DisableAll();
  FaultOs::address_space_limit = kLimit;
  TestAllocator<HardenedPolicy, FaultOs> allocator;
  ASSERT_TRUE(allocator->ArenaForTesting().sparse());
  const SizeClassInfo& info = kSizeClassInfo[SizeToClass(4096)];
  auto* p = static_cast<char*>(allocator->Alloc(4096));
  ASSERT_NE(p, nullptr);
  const uintptr_t span_start = reinterpret_cast<uintptr_t>(p) & ~(kVirtualSpanBytes - 1);
  volatile char* end_of_real_span = reinterpret_cast<char*>(span_start + info.real_span_bytes);
  end_of_real_span[-1] = 1;  // the last byte of the real span is mapped
  EXPECT_EXIT(end_of_real_span[0] = 1, scalloc::testing::DiedFromFault, "");
  allocator->Free(p);
  FaultOs::DisableAll();
}

TEST(UnreservedRangeTest, ChoosesARangeAwayFromNewMappingsAndSeesWhatIsMappedInIt) {
  FaultOs::DisableAll();
  constexpr size_t kTotal = size_t{64} << 20;
  // As the arena does: the next attempt when something is mapped in the range already (what earlier tests in this
  // process left behind can be, depending on where the kernel put it).
  const uintptr_t start =
      UnmappedRangeAwayFromNewMappings<FaultOs>(kVirtualSpanBytes, kTotal, kLimit, kSparseRangeAttempts);
  ASSERT_NE(start, 0u) << "no range chosen, or each of them with something mapped in it";
  EXPECT_EQ(start % kVirtualSpanBytes, 0u);
  // The kernel's next mapping lands at least most of the limit away from the range.
  void* next = FaultOs::Reserve(kPageSize, kPageSize, /*accessible=*/false);
  ASSERT_NE(next, nullptr);
  const auto at = reinterpret_cast<uintptr_t>(next);
  EXPECT_TRUE(at >= start + kTotal + kLimit / 2 || at + kLimit / 2 <= start) << std::hex << at << " " << start;
  FaultOs::Release(next, kPageSize);
  // Checked whole, and piecewise under a limit smaller than the range.
  for (size_t limit : {SIZE_MAX, size_t{16} << 20}) {
    FaultOs::address_space_limit = limit;
    EXPECT_TRUE(RangeIsUnmapped<FaultOs>(start, kTotal));
    void* page = reinterpret_cast<void*>(start + kTotal / 2 + 5 * kPageSize);
    ASSERT_TRUE(FaultOs::MapAt(page, kPageSize, /*accessible=*/false));
    EXPECT_FALSE(RangeIsUnmapped<FaultOs>(start, kTotal));
    EXPECT_TRUE(RangeIsUnmapped<FaultOs>(start, kTotal / 2));  // the part before the page
    FaultOs::Release(page, kPageSize);
  }
  FaultOs::DisableAll();
}

// A dense arena (no limit at start) that meets a limit set later, as sandboxes set one, goes on with sparse
// spans: with whole 2 MiB virtual spans, 384 MiB of address space held 12 MiB of 1 KiB blocks.
[[noreturn]] void AllocateUnderALimitSetAfterStart() {
  constexpr size_t kBlock = 1024;
  constexpr size_t kWanted = size_t{256} << 20;
  std::vector<void*> blocks;
  blocks.reserve(kWanted / kBlock);  // the test's own memory is mapped before the limit
  TestAllocator<FastPolicy> allocator;
  if (!allocator.initialized() || allocator->ArenaForTesting().sparse()) _exit(10);
  struct rlimit limit;
  limit.rlim_cur = limit.rlim_max = VirtualMemoryBytes() + (size_t{384} << 20);
  if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(11);
  while (blocks.size() < kWanted / kBlock) {
    void* p = allocator->Alloc(kBlock);
    if (p == nullptr) break;
    std::memset(p, 1, kBlock);
    blocks.push_back(p);
  }
  if (blocks.size() < kWanted / kBlock) _exit(12);
  const auto& arena = allocator->ArenaForTesting();
  if (!arena.IsSparseSpan(arena.IndexOfAddress(reinterpret_cast<uintptr_t>(blocks.back())))) _exit(13);
  for (void* p : blocks) allocator->Free(p);
  _exit(allocator->IsValidForTesting() ? 0 : 14);
}

TEST(SparseArenaDeathTest, ALimitSetAfterStartMakesLaterSpansSparse) {
  if (kAsanBuild) GTEST_SKIP() << "ASan's shadow mappings do not fit under an address-space limit";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(AllocateUnderALimitSetAfterStart(), ::testing::ExitedWithCode(0), "");
}

// Under mlockall(MCL_FUTURE) every page of a new mapping is populated, so a fast-mode arena stops growing its
// read-write prefix and goes on with sparse spans. The hardened mode's prefix is PROT_NONE, which locking does
// not populate: it stays dense.
TYPED_TEST(SparseArenaTest, LockedMappingsMakeTheFastModesLaterSpansSparse) {
  FaultOs::address_space_limit = SIZE_MAX;
  TestAllocator<TypeParam, FaultOs> allocator;
  const auto& arena = allocator->ArenaForTesting();
  ASSERT_FALSE(arena.sparse());
  FaultOs::mappings_locked = true;
  std::vector<void*> blocks;
  for (size_t i = 0; i < 3 * kInitialArenaSpans; ++i) {  // one span each: more than the initial prefix
    void* p = allocator->Alloc(kMaxSmallSize);
    ASSERT_NE(p, nullptr);
    std::memset(p, 2, kMaxSmallSize);
    blocks.push_back(p);
  }
  const uint32_t last = arena.IndexOfAddress(reinterpret_cast<uintptr_t>(blocks.back()));
  EXPECT_EQ(arena.IsSparseSpan(last), !TypeParam::kGuardRegions);
  EXPECT_FALSE(arena.IsSparseSpan(0));
  if (!TypeParam::kGuardRegions) {
    EXPECT_EQ(arena.Meta(last)->mapped_bytes, kSizeClassInfo[SizeToClass(kMaxSmallSize)].real_span_bytes);
  }
  for (void* p : blocks) allocator->Free(p);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

// The same with a real mlockall: resident memory follows the heap instead of the mapped prefix.
[[noreturn]] void AllocateUnderMlockall() {
  constexpr size_t kBlocks = 40;  // one 1 MiB block per span: 40 spans, five times the initial prefix
  void* blocks[kBlocks];
  TestAllocator<FastPolicy> allocator;
  if (!allocator.initialized()) _exit(10);
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) _exit(11);
  const size_t before = ResidentBytes();
  for (void*& p : blocks) {
    p = allocator->Alloc(kMaxSmallSize);
    if (p == nullptr) _exit(12);
    std::memset(p, 3, kMaxSmallSize);
  }
  // Dense growth would have doubled the prefix to 64 spans, all of it populated: 128 MiB for 40 MiB of blocks.
  if (ResidentBytes() - before > kBlocks * kMaxSmallSize + (size_t{24} << 20)) _exit(13);
  for (void* p : blocks) allocator->Free(p);
  _exit(allocator->IsValidForTesting() ? 0 : 14);
}

TEST(SparseArenaDeathTest, MlockallMakesLaterSpansSparse) {
  if (kAsanBuild) GTEST_SKIP() << "ASan's shadow mappings cannot be locked";
  struct rlimit memlock;
  if (geteuid() != 0 && (getrlimit(RLIMIT_MEMLOCK, &memlock) != 0 || memlock.rlim_cur != RLIM_INFINITY)) {
    GTEST_SKIP() << "mlockall needs root or an unlimited RLIMIT_MEMLOCK";
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(AllocateUnderMlockall(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace scalloc::internal
