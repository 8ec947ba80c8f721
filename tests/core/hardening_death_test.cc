// Every misuse the hardened mode must stop, one death test each, matching the fixed report text.
#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "src/core/allocator.h"
#include "tests/support/died_from_fault.h"
#include "tests/support/fault_os.h"
#include "tests/support/test_allocator.h"

namespace scalloc::internal {
namespace {

using scalloc::testing::DiedFromFault;
using scalloc::testing::FaultOs;
using scalloc::testing::kBiggestSpanBlock;
using scalloc::testing::kBiggestSpanBlocksPerSpan;
using scalloc::testing::TestAllocator;
using scalloc::testing::TestOptions;
using Hardened = TestAllocator<HardenedPolicy>;

class HardeningDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

alignas(64) char g_global_buffer[256];

size_t CountMappings() {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  size_t lines = 0;
  for (int c; (c = fgetc(maps)) != EOF;) lines += c == '\n';
  fclose(maps);
  return lines;
}

TEST_F(HardeningDeathTest, DoubleFreeSmallImmediate) {
  Hardened allocator;
  void* p = allocator->Alloc(40);
  allocator->Free(p);
  EXPECT_DEATH(allocator->Free(p), "scalloc: double free of 0x[0-9a-f]+ \\(size class 2, block of 48 bytes\\)");
}

TEST_F(HardeningDeathTest, DoubleFreeSmallAfterOtherAllocations) {
  Hardened allocator;
  void* p = allocator->Alloc(100);
  allocator->Free(p);
  std::vector<void*> others;
  for (int i = 0; i < 1000; ++i) others.push_back(allocator->Alloc(static_cast<size_t>(200 + i)));
  for (void* q : others) allocator->Free(q);
  EXPECT_DEATH(allocator->Free(p), "scalloc: double free of 0x");
}

TEST_F(HardeningDeathTest, DoubleFreeByAnotherThread) {
  Hardened allocator;
  void* p = allocator->Alloc(64);
  std::thread([&] { allocator->Free(p); }).join();
  EXPECT_DEATH(std::thread([&] { allocator->Free(p); }).join(), "scalloc: double free of 0x");
}

// A block boundary of the span that was never handed out (above the bump pointer) is not a double free but an
// invalid free, by the owner and by another thread.
TEST_F(HardeningDeathTest, FreeOfANeverAllocatedBlockIsAnInvalidFree) {
  Hardened allocator;
  auto* p = static_cast<char*>(allocator->Alloc(64));
  char* never = p + 64 * 100;
  ASSERT_EQ(allocator->SpanOfForTesting(never), allocator->SpanOfForTesting(p));
  EXPECT_DEATH(allocator->Free(never), "scalloc: invalid free of 0x[0-9a-f]+ \\(never-allocated block\\)");
  EXPECT_DEATH(std::thread([&] { allocator->Free(never); }).join(),
               "scalloc: invalid free of 0x[0-9a-f]+ \\(never-allocated block\\)");
  EXPECT_DEATH(allocator->Realloc(never, 10), "scalloc: invalid free of 0x[0-9a-f]+ \\(never-allocated block\\)");
  allocator->Free(p);
}

TEST_F(HardeningDeathTest, DoubleFreeOfAFloatingSpanBlock) {
  Hardened allocator;
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(allocator->Alloc(32));  // several full spans
  std::thread([&] { allocator->Free(blocks[0]); }).join();
  EXPECT_DEATH(allocator->Free(blocks[0]), "scalloc: double free of 0x");
}

TEST_F(HardeningDeathTest, DoubleFreeRacingThreads) {
  Hardened allocator;
  EXPECT_DEATH(
      {
        for (int round = 0; round < 1000; ++round) {
          void* p = allocator->Alloc(96);
          std::atomic<bool> go{false};
          std::thread a([&] {
            while (!go.load()) {
            }
            allocator->Free(p);
          });
          std::thread b([&] {
            while (!go.load()) {
            }
            allocator->Free(p);
          });
          go = true;
          a.join();
          b.join();
        }
      },
      "scalloc: double free of 0x");
}

TEST_F(HardeningDeathTest, DoubleFreeLarge) {
  Hardened allocator;
  void* p = allocator->Alloc(size_t{3} << 20);
  allocator->Free(p);
  EXPECT_DEATH(allocator->Free(p), "scalloc: double free of 0x[0-9a-f]+ \\(large object");
}

TEST_F(HardeningDeathTest, InvalidFreeOfStackGlobalAndForeignMemory) {
  Hardened allocator;
  char stack_buffer[64];
  EXPECT_DEATH(allocator->Free(stack_buffer), "scalloc: invalid free of 0x[0-9a-f]+ \\(not allocated by scalloc\\)");
  EXPECT_DEATH(allocator->Free(g_global_buffer), "scalloc: invalid free of 0x");
  void* foreign = mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_DEATH(allocator->Free(foreign), "scalloc: invalid free of 0x");
  munmap(foreign, 1 << 16);
}

TEST_F(HardeningDeathTest, InvalidFreeOfInteriorAndMisalignedPointers) {
  Hardened allocator;
  auto* p = static_cast<char*>(allocator->Alloc(128));
  EXPECT_DEATH(allocator->Free(p + 16), "scalloc: invalid free of 0x[0-9a-f]+ \\(interior pointer\\)");
  EXPECT_DEATH(allocator->Free(p + 3), "scalloc: invalid free of 0x[0-9a-f]+ \\(misaligned pointer\\)");
  // The same inside large objects and blocks above 128 KiB (mapped on their own), also through realloc.
  for (size_t size : {size_t{2} << 20, size_t{300} << 10}) {
    auto* large = static_cast<char*>(allocator->Alloc(size));
    EXPECT_DEATH(allocator->Free(large + 4096), "scalloc: invalid free of 0x[0-9a-f]+ \\(interior pointer\\)");
    EXPECT_DEATH(allocator->Free(large + 5), "scalloc: invalid free of 0x[0-9a-f]+ \\(misaligned pointer\\)");
    EXPECT_DEATH(allocator->Realloc(large + 64, 10), "scalloc: invalid free of 0x[0-9a-f]+ \\(interior pointer\\)");
    // Just past the end is no object's: not an interior pointer.
    EXPECT_DEATH(allocator->Free(large + allocator->UsableSize(large) + (16 << 10)),
                 "scalloc: invalid free of 0x[0-9a-f]+ \\(not allocated by scalloc\\)");
    allocator->Free(large);
  }
}

TEST_F(HardeningDeathTest, InvalidFreeOfAnUnusedPartOfTheArena) {
  Hardened allocator;
  void* p = allocator->Alloc(16);
  uintptr_t far = reinterpret_cast<uintptr_t>(p) + 50 * kVirtualSpanBytes;
  EXPECT_DEATH(allocator->Free(reinterpret_cast<void*>(far)), "scalloc: invalid free of 0x");
}

TEST_F(HardeningDeathTest, InvalidPointersThroughReallocAndSizedFree) {
  Hardened allocator;
  char stack_buffer[64];
  EXPECT_DEATH(allocator->Realloc(stack_buffer, 100), "scalloc: invalid free of 0x");
  EXPECT_DEATH(allocator->FreeSized(g_global_buffer, 16), "scalloc: invalid free of 0x");
  auto* p = static_cast<char*>(allocator->Alloc(64));
  EXPECT_DEATH(allocator->Realloc(p + 16, 100), "scalloc: invalid free of 0x");
}

// realloc frees its argument: a block freed before (locally, or remotely and still waiting in a batch) must be
// reported even when the new size fits and realloc would otherwise hand the stale pointer back unchanged.
TEST_F(HardeningDeathTest, ReallocAndUsableSizeOfAFreedBlock) {
  Hardened allocator;
  void* keep = allocator->Alloc(64);  // keeps the span in use, so the freed block's span is not empty
  void* p = allocator->Alloc(64);
  allocator->Free(p);
  EXPECT_DEATH(allocator->Realloc(p, 60), "scalloc: double free of 0x[0-9a-f]+ \\(size class 3, block of 64 bytes\\)");
  EXPECT_DEATH(allocator->Realloc(p, 1000), "scalloc: double free of 0x");
  EXPECT_DEATH(allocator->UsableSize(p), "scalloc: invalid pointer 0x[0-9a-f]+ passed to malloc_usable_size");
  void* q = allocator->Alloc(64);
  std::thread([&] { allocator->Free(q); }).join();  // remote free
  EXPECT_DEATH(allocator->Realloc(q, 64), "scalloc: double free of 0x");
  // A live block is not affected.
  EXPECT_EQ(allocator->Realloc(keep, 60), keep);
  EXPECT_EQ(allocator->UsableSize(keep), 64u);
  allocator->Free(keep);
}

TEST_F(HardeningDeathTest, SizedFreeWithTheWrongSize) {
  Hardened allocator;
  void* p = allocator->Alloc(64);
  EXPECT_DEATH(allocator->FreeSized(p, 1000),
               "scalloc: size mismatch in sized free of 0x[0-9a-f]+ \\(given 1000 bytes, block holds 64 bytes\\)");
  void* large = allocator->Alloc(size_t{2} << 20);
  EXPECT_DEATH(allocator->FreeSized(large, 100), "scalloc: size mismatch in sized free of 0x");
  allocator->FreeSized(p, 64);  // the right sizes are fine
  allocator->FreeSized(large, size_t{2} << 20);
}

TEST_F(HardeningDeathTest, OverwrittenFreeListLinkIsDetected) {
  Hardened allocator;
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) blocks.push_back(allocator->Alloc(64));
  allocator->Free(blocks[3]);
  // Use-after-free write: point the freed block's link at a global buffer.
  void* target = g_global_buffer;
  std::memcpy(blocks[3], &target, sizeof(target));
  EXPECT_DEATH(
      {
        for (int i = 0; i < 10000; ++i) {
          void* q = allocator->Alloc(64);
          if (q == g_global_buffer) _exit(3);  // the attack worked
        }
      },
      "scalloc: corrupted free list at 0x");
}

TEST_F(HardeningDeathTest, OverwrittenRemoteListLinkIsDetected) {
  Hardened allocator;
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) blocks.push_back(allocator->Alloc(64));
  std::thread([&] { allocator->Free(blocks[5]); }).join();
  void* target = g_global_buffer;
  std::memcpy(blocks[5], &target, sizeof(target));
  EXPECT_DEATH(
      {
        for (int i = 0; i < 10000; ++i) {
          if (allocator->Alloc(64) == g_global_buffer) _exit(3);
        }
      },
      "scalloc: corrupted free list at 0x");
}

TEST_F(HardeningDeathTest, CorruptedSpanMetadataIsReported) {
  Hardened allocator;
  void* p = allocator->Alloc(64);
  void* q = allocator->Alloc(64);
  SpanMeta* span = allocator->SpanOfForTesting(p);
  span->class_id ^= 1;  // an attacker rewrote the header
  EXPECT_DEATH(allocator->Free(q), "scalloc: corrupted span metadata for 0x");
  span->class_id ^= 1;
}

// Fills a span and overflows from its last block byte by byte. 128 KiB blocks (the biggest the hardened mode
// keeps in spans) would fill the 2 MiB virtual span exactly without the page the size-class table keeps free
// for the guard.
template <class Os>
void ExpectLinearOverflowsOutOfSpansToFault() {
  static_assert(kBiggestSpanBlock<HardenedPolicy> == size_t{128} << 10);
  for (size_t block_bytes : {size_t{2048}, size_t{128} << 10}) {
    SCOPED_TRACE(block_bytes);
    TestAllocator<HardenedPolicy, Os> allocator;
    void* first = allocator->Alloc(block_bytes);
    SpanMeta* span = allocator->SpanOfForTesting(first);
    char* last = static_cast<char*>(first);
    for (uint32_t i = 1; i < span->num_blocks; ++i) {
      auto* p = static_cast<char*>(allocator->Alloc(block_bytes));
      ASSERT_EQ(allocator->SpanOfForTesting(p), span);
      if (p > last) last = p;
    }
    const uintptr_t span_end = (reinterpret_cast<uintptr_t>(first) & ~(kVirtualSpanBytes - 1)) + kVirtualSpanBytes;
    EXPECT_EXIT(
        {
          for (char* c = last;; ++c) {
            if (reinterpret_cast<uintptr_t>(c) >= span_end) _exit(0);  // left the virtual span: no guard
            *reinterpret_cast<volatile char*>(c) = 1;
          }
        },
        DiedFromFault, "");
  }
}

TEST_F(HardeningDeathTest, LinearOverflowOutOfASpanFaultsInsideTheVirtualSpan) {
  ExpectLinearOverflowsOutOfSpansToFault<SystemOs>();
}

// The same where the kernel has no guard markers: the guards are PROT_NONE parts of the arena's mapping.
TEST_F(HardeningDeathTest, LinearOverflowFaultsWithoutGuardMarkers) {
  FaultOs::guard_markers = false;
  ExpectLinearOverflowsOutOfSpansToFault<FaultOs>();
  FaultOs::DisableAll();
}

// A span given back to the span pool (its blocks all freed, the pool's cache full) is inaccessible until it
// is used again, and then reads as zeros; with and without guard markers.
template <class Os>
void ExpectReturnedSpansToFaultAndComeBackZeroed() {
  Options options = TestOptions();
  options.span_cache_mib = 4;
  TestAllocator<HardenedPolicy, Os> allocator(options);
  // Eight spans of the biggest blocks kept in spans overflow the 4 MiB span cache when freed.
  constexpr size_t kBlockBytes = kBiggestSpanBlock<HardenedPolicy>;
  constexpr size_t kBlocks = 8 * kBiggestSpanBlocksPerSpan<HardenedPolicy>;
  std::vector<char*> blocks;
  for (size_t i = 0; i < kBlocks; ++i) {
    auto* p = static_cast<char*>(allocator->Alloc(kBlockBytes));
    ASSERT_NE(p, nullptr);
    std::memset(p, 0x5a, 4096);
    blocks.push_back(p);
  }
  for (char* p : blocks) allocator->Free(p);
  Stats stats;
  allocator->CollectStats(&stats);
  ASSERT_GT(stats.spans_free * kSizeClassInfo[SizeToClass(kBlockBytes)].real_span_bytes, stats.span_cache_bytes);

  // The spans freed once the cache was full went back to the OS.
  char* returned = nullptr;
  for (char* p : blocks) {
    if (allocator->SpanOfForTesting(p)->dirty_bytes == 0) returned = p;
  }
  ASSERT_NE(returned, nullptr);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(returned) = 1, DiedFromFault, "");
  std::vector<char*> again;
  for (size_t i = 0; i < kBlocks; ++i) {
    auto* p = static_cast<char*>(allocator->Alloc(kBlockBytes));
    ASSERT_NE(p, nullptr);
    // (The first bytes of a block reused from a free list hold the link it had; the rest is what was written.)
    for (size_t offset = 512; offset < 4096; offset += 512) ASSERT_TRUE(p[offset] == 0 || p[offset] == 0x5a);
    again.push_back(p);
  }
  bool saw_zeroed_reuse = false;
  for (char* p : again) saw_zeroed_reuse |= p == returned && p[512] == 0;
  EXPECT_TRUE(saw_zeroed_reuse) << "the returned span was not reused, or came back with its old contents";
  for (char* p : again) allocator->Free(p);
}

TEST_F(HardeningDeathTest, ReturnedSpansFaultAndComeBackZeroed) {
  ExpectReturnedSpansToFaultAndComeBackZeroed<SystemOs>();
}

TEST_F(HardeningDeathTest, ReturnedSpansFaultAndComeBackZeroedWithoutGuardMarkers) {
  FaultOs::guard_markers = false;
  ExpectReturnedSpansToFaultAndComeBackZeroed<FaultOs>();
  FaultOs::DisableAll();
}

// With guard markers the hardened arena stays a handful of mappings however many spans are in use, so a big
// heap does not run into vm.max_map_count (65,530 by default: two VMAs per PROT_NONE-guarded span ended
// allocation near 2 GiB of 64-byte blocks).
TEST(HardenedArenaTest, GuardMarkersKeepTheMappingCountFlat) {
  if (!SystemOs::GuardMarkersSupported()) GTEST_SKIP() << "the kernel has no guard markers";
  TestAllocator<HardenedPolicy> allocator;
  const size_t before = CountMappings();
  std::vector<void*> blocks;
  // 200 spans of the biggest blocks kept in spans, and small blocks of many classes.
  for (size_t i = 0; i < 200 * kBiggestSpanBlocksPerSpan<HardenedPolicy>; ++i) {
    blocks.push_back(allocator->Alloc(kBiggestSpanBlock<HardenedPolicy>));
  }
  for (int i = 0; i < 2000; ++i) blocks.push_back(allocator->Alloc(static_cast<size_t>(16 + i % 4000)));
  EXPECT_LT(CountMappings(), before + 16) << "spans in use: " << allocator->ArenaForTesting().spans_ever_used();
  for (void* p : blocks) allocator->Free(p);
}

TEST_F(HardeningDeathTest, UnderflowOutOfTheFirstSpanAndOverflowsOfMetadataFault) {
  Hardened allocator;
  void* p = allocator->Alloc(64);
  ASSERT_NE(p, nullptr);
  const Arena<SystemOs>& arena = allocator->ArenaForTesting();
  // Below the first span: a virtual span that is never handed out (the metadata arrays used to be mapped
  // right there).
  auto* first_span = reinterpret_cast<volatile char*>(arena.SpanStart(0));
  EXPECT_EXIT(first_span[-1] = 1, DiedFromFault, "");
  EXPECT_EXIT(first_span[-static_cast<ptrdiff_t>(kVirtualSpanBytes)] = 1, DiedFromFault, "");
  // The span metadata and the toggle bitmaps sit between PROT_NONE pages.
  auto* metas = reinterpret_cast<volatile char*>(arena.Meta(0));
  const uintptr_t metas_end = AlignUp(reinterpret_cast<uintptr_t>(arena.Meta(arena.num_spans() - 1) + 1), kPageSize);
  EXPECT_EXIT(metas[-1] = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(metas_end) = 1, DiedFromFault, "");
  auto* bitmaps = reinterpret_cast<volatile char*>(arena.OwnerToggleWord(0, 0));
  const uintptr_t bitmaps_end =
      AlignUp(reinterpret_cast<uintptr_t>(arena.OwnerToggleWord(arena.num_spans() - 1, 0) + kBitmapWordsPerSpanRecord),
              kPageSize);
  EXPECT_EXIT(bitmaps[-1] = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(bitmaps_end) = 1, DiedFromFault, "");
  allocator->Free(p);
}

// The arena maps its metadata arrays as it grows; the page after each array's mapped part stays PROT_NONE.
TEST_F(HardeningDeathTest, MetadataGuardPagesMoveAsTheArenaGrows) {
  Hardened allocator;
  const Arena<SystemOs>& arena = allocator->ArenaForTesting();
  std::vector<void*> blocks;
  for (size_t i = 0; i < 2 * kInitialArenaSpans * kBiggestSpanBlocksPerSpan<HardenedPolicy>; ++i) {
    blocks.push_back(allocator->Alloc(kBiggestSpanBlock<HardenedPolicy>));
  }
  ASSERT_GT(arena.num_spans(), kInitialArenaSpans);
  const uint32_t last = arena.num_spans() - 1;
  const uintptr_t metas_end = AlignUp(reinterpret_cast<uintptr_t>(arena.Meta(last) + 1), kPageSize);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(metas_end) = 1, DiedFromFault, "");
  const uintptr_t bitmaps_end =
      AlignUp(reinterpret_cast<uintptr_t>(arena.OwnerToggleWord(last, 0) + kBitmapWordsPerSpanRecord), kPageSize);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(bitmaps_end) = 1, DiedFromFault, "");
  for (void* p : blocks) allocator->Free(p);
}

TEST_F(HardeningDeathTest, LargeObjectsHaveGuardPagesOnBothSides) {
  Hardened allocator;
  auto* p = static_cast<char*>(allocator->Alloc(size_t{2} << 20));
  size_t usable = allocator->UsableSize(p);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(p + usable) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(p - 1) = 1, DiedFromFault, "");
  allocator->Free(p);
}

// Blocks of the classes above 128 KiB are large objects of exactly the class size: the same usable size as in
// the fast mode, and a guard page on each side, so an overflow off the end of any of them faults at once (in a
// span only the last block has a guard after it).
TEST_F(HardeningDeathTest, BlocksAboveTheSpanLimitAreGuardedOnBothSides) {
  Hardened allocator;
  TestAllocator<FastPolicy> fast;
  for (size_t size : {(size_t{128} << 10) + 1, size_t{200} << 10, size_t{256} << 10, size_t{1} << 20}) {
    SCOPED_TRACE(size);
    auto* p = static_cast<char*>(allocator->Alloc(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(allocator->SpanOfForTesting(p), nullptr);
    const size_t usable = allocator->UsableSize(p);
    void* in_fast_mode = fast->Alloc(size);
    EXPECT_EQ(usable, fast->UsableSize(in_fast_mode));
    EXPECT_EQ(usable, ClassToSize(SizeToClass(size)));
    fast->Free(in_fast_mode);
    std::memset(p, 1, usable);
    EXPECT_EXIT(*reinterpret_cast<volatile char*>(p + usable) = 1, DiedFromFault, "");
    EXPECT_EXIT(*reinterpret_cast<volatile char*>(p - 1) = 1, DiedFromFault, "");
    allocator->Free(p);
    // Freed, it waits in the large-object cache inaccessible: a use after free faults too.
    EXPECT_EXIT(*reinterpret_cast<volatile char*>(p) = 1, DiedFromFault, "");
    EXPECT_DEATH(allocator->Free(p), "scalloc: double free of 0x[0-9a-f]+ \\(large object");
  }
  // Aligned requests of those classes too.
  auto* aligned = static_cast<char*>(allocator->AllocAligned(64 << 10, 256 << 10));
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % (64 << 10), 0u);
  EXPECT_EQ(allocator->UsableSize(aligned), size_t{256} << 10);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(aligned + (256 << 10)) = 1, DiedFromFault, "");
  allocator->Free(aligned);
}

TEST_F(HardeningDeathTest, LargeReallocMovesPagesAndKeepsItsGuards) {
  Hardened allocator;
  auto* p = static_cast<char*>(allocator->Alloc(size_t{2} << 20));
  std::memset(p, 7, size_t{2} << 20);
  auto* q = static_cast<char*>(allocator->Realloc(p, size_t{5} << 20));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[(size_t{2} << 20) - 1], 7);
  size_t usable = allocator->UsableSize(q);
  EXPECT_EQ(usable, size_t{5} << 20);
  std::memset(q, 1, usable);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(q + usable) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(q - 1) = 1, DiedFromFault, "");
  allocator->Free(q);
}

// A large object of `bytes`, written and freed: its mapping waits in the large-object cache.
char* FreedLargeObject(Hardened& allocator, size_t bytes) {
  auto* p = static_cast<char*>(allocator->Alloc(bytes));
  std::memset(p, 7, bytes);
  allocator->Free(p);
  return p;
}

TEST_F(HardeningDeathTest, CachedLargeMappingsAreInaccessibleAndReusedOnesKeepTheirGuards) {
  Hardened allocator;
  const size_t mib = size_t{1} << 20;
  char* p = FreedLargeObject(allocator, 4 * mib);
  // Freed, the mapping waits in the cache with its pages resident but inaccessible.
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(p) = 1, DiedFromFault, "");
  EXPECT_EXIT((void)*reinterpret_cast<volatile char*>(p + 2 * mib), DiedFromFault, "");
  EXPECT_DEATH(allocator->Free(p), "scalloc: double free of 0x[0-9a-f]+ \\(large object");
  // Trimmed to a smaller request, a fresh mapping for a larger one (the hardened mode does not grow cached
  // mappings), a little smaller with its tail kept: each has a guard page on each side.
  for (size_t size : {3 * mib, 6 * mib, 5 * mib}) {
    auto* q = static_cast<char*>(allocator->Alloc(size));
    ASSERT_NE(q, nullptr);
    const size_t usable = allocator->UsableSize(q);
    ASSERT_EQ(usable, size);
    std::memset(q, 1, usable);
    EXPECT_EXIT(*reinterpret_cast<volatile char*>(q + usable) = 1, DiedFromFault, "");
    EXPECT_EXIT(*reinterpret_cast<volatile char*>(q - 1) = 1, DiedFromFault, "");
    allocator->Free(q);
  }
  // realloc moves an object that kept a tail into a fresh reservation with its own guards.
  auto* kept_tail = static_cast<char*>(allocator->Alloc(5 * mib + 1));
  std::memset(kept_tail, 8, 5 * mib + 1);
  auto* moved = static_cast<char*>(allocator->Realloc(kept_tail, 7 * mib));
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved[5 * mib], 8);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(moved + 7 * mib) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(moved - 1) = 1, DiedFromFault, "");
  allocator->Free(moved);
}

TEST_F(HardeningDeathTest, TailsSplitOffCachedMappingsStayInaccessibleAndMergeBack) {
  Hardened allocator;
  const size_t mib = size_t{1} << 20;
  char* p = FreedLargeObject(allocator, 8 * mib);
  // A smaller request takes the front of the cached mapping; the rest waits in the cache as a mapping of its
  // own: a use after free of the old object's later pages still faults, and the tail's own first page lies past
  // the new object's guard.
  auto* q = static_cast<char*>(allocator->Alloc(3 * mib));
  ASSERT_EQ(q, p);
  std::memset(q, 1, 3 * mib);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(q + 3 * mib) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(p + 3 * mib + kPageSize) = 1, DiedFromFault, "");
  EXPECT_EXIT((void)*reinterpret_cast<volatile char*>(p + 6 * mib), DiedFromFault, "");
  // The tail serves the next request, guarded on both sides; the pages between the two objects are guards.
  auto* r = static_cast<char*>(allocator->Alloc(2 * mib));
  ASSERT_EQ(r, q + 3 * mib + 2 * kPageSize);
  std::memset(r, 2, 2 * mib);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(r - 1) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(r + 2 * mib) = 1, DiedFromFault, "");
  // Freed, all of it merges back into one inaccessible mapping, which a request for the whole takes again.
  allocator->Free(q);
  allocator->Free(r);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(p) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(r) = 1, DiedFromFault, "");
  auto* whole = static_cast<char*>(allocator->Alloc(8 * mib));
  ASSERT_EQ(whole, p);
  std::memset(whole, 3, 8 * mib);
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(whole + 8 * mib) = 1, DiedFromFault, "");
  EXPECT_EXIT(*reinterpret_cast<volatile char*>(whole - 1) = 1, DiedFromFault, "");
  allocator->Free(whole);
}

// With a hook installed (tests, fuzzers), reports are observable and the operation is abandoned safely.
std::atomic<int> g_reports{0};
ReportKind g_last_kind;
void CountingHook(ReportKind kind, const char*, uintptr_t) {
  g_last_kind = kind;
  ++g_reports;
}

TEST(HardeningHookTest, HookObservesReportsAndTheHeapStaysUsable) {
  Hardened allocator;
  SetReportHookForTesting(&CountingHook);
  void* p = allocator->Alloc(48);
  allocator->Free(p);
  allocator->Free(p);
  EXPECT_EQ(g_reports.load(), 1);
  EXPECT_EQ(g_last_kind, ReportKind::kDoubleFree);
  char local[32];
  allocator->Free(local);
  EXPECT_EQ(g_reports.load(), 2);
  EXPECT_EQ(g_last_kind, ReportKind::kInvalidFree);
  SetReportHookForTesting(nullptr);
  EXPECT_TRUE(allocator->IsValidForTesting());
  void* q = allocator->Alloc(48);
  EXPECT_NE(q, nullptr);
  allocator->Free(q);
}

// zero_on_free=1 clears a freed block beyond its link word, for local and remote frees; off (the default) leaves
// the old contents.
TEST(HardenedZeroOnFreeTest, FreedBlocksAreClearedOnlyWhenTheOptionIsOn) {
  for (int on : {0, 1}) {
    Options options = scalloc::testing::TestOptions();
    options.zero_on_free = on;
    Hardened allocator(options);
    constexpr size_t kSize = 200;
    auto* local = static_cast<unsigned char*>(allocator->Alloc(kSize));
    auto* remote = static_cast<unsigned char*>(allocator->Alloc(kSize));
    const size_t usable = allocator->UsableSize(local);
    std::memset(local, 0xab, usable);
    std::memset(remote, 0xab, usable);
    allocator->Free(local);
    std::thread([&] { allocator->Free(remote); }).join();
    for (unsigned char* block : {local, remote}) {
      AsanUnpoison(block, usable);  // reading a free block on purpose
      size_t cleared = 0;
      for (size_t i = kFreeLinkBytes; i < usable; ++i) cleared += block[i] == 0;
      EXPECT_EQ(cleared, on ? usable - kFreeLinkBytes : 0u) << "zero_on_free=" << on;
      AsanPoisonFreeBlock(block, usable);
    }
    EXPECT_TRUE(allocator->IsValidForTesting());
  }
}

}  // namespace
}  // namespace scalloc::internal
