// Allocator behaviour shared by both policies (typed tests): sizes, alignment, realloc, large objects, span
// life cycle and the reuse threshold, remote frees, thread exit, memory return, invariants.
#include "src/core/allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/policies.h"
#include "tests/support/test_allocator.h"

namespace scalloc::internal {
namespace {

using scalloc::testing::kBiggestSpanBlock;
using scalloc::testing::kBiggestSpanBlocksPerSpan;
using scalloc::testing::PolicyMixes;
using scalloc::testing::TestAllocator;

template <class P>
class AllocatorTest : public ::testing::Test {};
TYPED_TEST_SUITE(AllocatorTest, PolicyMixes);

template <class A>
SpanState StateOf(A& allocator, const void* p) {
  SpanMeta* span = allocator->SpanOfForTesting(p);
  return RemoteWord(span->remote.load()).state();
}

TYPED_TEST(AllocatorTest, AllocatesWritableAlignedBlocksOfEverySize) {
  TestAllocator<TypeParam> allocator;
  ASSERT_TRUE(allocator.initialized());
  std::vector<std::pair<unsigned char*, size_t>> blocks;
  for (size_t size = 0; size < 70000; size = size < 600 ? size + 1 : size * 5 / 4) {
    auto* p = static_cast<unsigned char*>(allocator->Alloc(size));
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << size;
    size_t usable = allocator->UsableSize(p);
    EXPECT_GE(usable, size);
    EXPECT_EQ(usable, ClassToSize(SizeToClass(size)));
    std::memset(p, static_cast<int>(size & 0xff), usable);
    blocks.push_back({p, size});
  }
  for (auto [p, size] : blocks) {
    for (size_t i = 0; i < size; i += 17) ASSERT_EQ(p[i], size & 0xff);
    allocator->Free(p);
  }
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, ImpossibleSizesFailWithEnomem) {
  TestAllocator<TypeParam> allocator;
  for (size_t size : {SIZE_MAX, SIZE_MAX - 4096, size_t{PTRDIFF_MAX} + 1, size_t{1} << 62}) {
    errno = 0;
    EXPECT_EQ(allocator->Alloc(size), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
  errno = 0;
  EXPECT_EQ(allocator->AllocZeroed(SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(allocator->AllocAligned(4096, SIZE_MAX - 100), nullptr);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, AlignedAllocationsHonourAlignment) {
  TestAllocator<TypeParam> allocator;
  std::vector<void*> blocks;
  for (size_t alignment = 1; alignment <= (size_t{1} << 23); alignment *= 2) {
    for (size_t size : {size_t{1}, size_t{24}, size_t{4000}, size_t{70000}, size_t{3} << 20}) {
      void* p = allocator->AllocAligned(alignment, size);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << alignment << " " << size;
      EXPECT_GE(allocator->UsableSize(p), size);
      std::memset(p, 1, size);
      blocks.push_back(p);
    }
  }
  for (void* p : blocks) allocator->Free(p);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, ZeroedAllocationIsZeroEvenAfterReuse) {
  TestAllocator<TypeParam> allocator;
  for (int round = 0; round < 3; ++round) {
    std::vector<unsigned char*> blocks;
    for (int i = 0; i < 2000; ++i) {
      auto* p = static_cast<unsigned char*>(allocator->AllocZeroed(1, 200));
      for (int j = 0; j < 200; ++j) ASSERT_EQ(p[j], 0);
      std::memset(p, 0xab, 200);
      blocks.push_back(p);
    }
    for (auto* p : blocks) allocator->Free(p);
  }
}

TYPED_TEST(AllocatorTest, ReallocPreservesContentsAcrossClassesAndLargeObjects) {
  TestAllocator<TypeParam> allocator;
  auto* p = static_cast<unsigned char*>(allocator->Realloc(nullptr, 10));
  for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i);
  size_t old_size = 10;
  for (size_t size : {size_t{12}, size_t{300}, size_t{5000}, size_t{2} << 20, size_t{9} << 20, size_t{3} << 20,
                      size_t{100}, size_t{7}}) {
    p = static_cast<unsigned char*>(allocator->Realloc(p, size));
    ASSERT_NE(p, nullptr);
    size_t keep = old_size < size ? old_size : size;
    for (size_t i = 0; i < keep; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(i)) << size;
    for (size_t i = keep; i < size; ++i) p[i] = static_cast<unsigned char>(i);
    old_size = size;
  }
  EXPECT_EQ(allocator->Realloc(p, 0), nullptr);  // frees, as glibc does
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
  // A failing realloc leaves the block alone.
  void* q = allocator->Alloc(64);
  errno = 0;
  EXPECT_EQ(allocator->Realloc(q, SIZE_MAX), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(allocator->UsableSize(q), 64u);
  allocator->Free(q);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, ReallocKeepsTheBlockWhenItStillFits) {
  TestAllocator<TypeParam> allocator;
  void* p = allocator->Alloc(100);
  EXPECT_EQ(allocator->Realloc(p, 112), p);
  EXPECT_EQ(allocator->Realloc(p, 60), p);
  void* q = allocator->Realloc(p, 20);  // would waste more than half: moves
  EXPECT_NE(q, nullptr);
  allocator->Free(q);
}

// A big small-class block that realloc moves out of gives its pages back before it is freed: when the same block
// is handed out again, its pages past the first read as zero (the program's old bytes are gone from memory).
TYPED_TEST(AllocatorTest, ReallocGivesBackThePagesOfABigBlockItMovesOutOf) {
  TestAllocator<TypeParam> allocator;
  const size_t size = 96 * 1024;  // above the purge threshold (64 KiB), in spans in both modes
  auto* old_block = static_cast<unsigned char*>(allocator->Alloc(size));
  ASSERT_NE(old_block, nullptr);
  std::memset(old_block, 0xab, size);
  void* moved = allocator->Realloc(old_block, 2 * size);
  ASSERT_NE(moved, old_block);
  EXPECT_EQ(static_cast<unsigned char*>(moved)[size - 1], 0xab);
  auto* again = static_cast<unsigned char*>(allocator->Alloc(size));  // the freed block, first on its list
  ASSERT_EQ(again, old_block);
  // The first page boundary after the block's first byte.
  const uintptr_t address = reinterpret_cast<uintptr_t>(again);
  const size_t first_purged = AlignUp(address + 1, kPageSize) - address;
  EXPECT_EQ(again[first_purged], 0);
  EXPECT_EQ(again[size - 1], 0);
  allocator->Free(again);
  allocator->Free(moved);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, LargeObjectsArePageGranularAndReturnedOnFree) {
  TestAllocator<TypeParam> allocator;
  size_t size = (size_t{1} << 20) + 1;
  void* p = allocator->Alloc(size);
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(allocator->ArenaForTesting().Contains(reinterpret_cast<uintptr_t>(p)));
  EXPECT_EQ(allocator->UsableSize(p), AlignUp(size, kPageSize));
  std::memset(p, 7, allocator->UsableSize(p));
  EXPECT_EQ(allocator->LiveBytesForTesting(), AlignUp(size, kPageSize));
  allocator->Free(p);
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
  // Many at once exercise the registry's growth.
  std::vector<void*> blocks;
  for (int i = 0; i < 600; ++i) blocks.push_back(allocator->Alloc((size_t{1} << 20) + 4096 * (i % 5)));
  for (void* b : blocks) ASSERT_NE(b, nullptr);
  for (void* b : blocks) allocator->Free(b);
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, FreedLargeMappingsServeLaterRequestsTrimmedOrGrownToThem) {
  TestAllocator<TypeParam> allocator;
  const size_t mib = size_t{1} << 20;
  const size_t guards = 2 * (TypeParam::kGuardLargeObjects ? kPageSize : 0);
  auto* p = static_cast<char*>(allocator->Alloc(4 * mib));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 4 * mib);
  allocator->Free(p);
  Stats stats;
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 4 * mib + guards);

  // A smaller request takes the mapping, trimmed: the usable size is the request's, as for a fresh mapping. The
  // tail it does not need stays cached, with guards of its own (the object keeps its trailing guard).
  auto* q = static_cast<char*>(allocator->Alloc(3 * mib + 1));
  EXPECT_EQ(q, p);
  EXPECT_EQ(allocator->UsableSize(q), 3 * mib + kPageSize);
  std::memset(q, 2, allocator->UsableSize(q));
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, mib - kPageSize);
  EXPECT_EQ(q[3 * mib - 1], 2);
  // Freed, the object merges with its tail again: one mapping, which serves a request for all of it.
  allocator->Free(q);
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 4 * mib + guards);
  auto* whole = static_cast<char*>(allocator->Alloc(4 * mib));
  EXPECT_EQ(whole, p);
  EXPECT_EQ(allocator->UsableSize(whole), 4 * mib);
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 0u);
  std::memset(whole, 2, 3 * mib + kPageSize);
  allocator->Free(whole);

  // A larger one (at most twice the size): the fast mode grows the mapping, resident pages and all (their old
  // contents show: it was not made afresh); the hardened mode maps afresh and keeps the cached one.
  auto* r = static_cast<char*>(allocator->Alloc(5 * mib));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(allocator->UsableSize(r), 5 * mib);
  allocator->CollectStats(&stats);
  if constexpr (TypeParam::kGuardLargeObjects) {
    EXPECT_EQ(r[0], 0);
    EXPECT_EQ(stats.large_cache_bytes, 4 * mib + guards);
  } else {
    EXPECT_EQ(r[0], 2);
    EXPECT_EQ(r[3 * mib], 2);
    EXPECT_EQ(stats.large_cache_bytes, 0u);
  }
  std::memset(r, 3, 5 * mib);
  EXPECT_EQ(allocator->LiveBytesForTesting(), 5 * mib);
  allocator->Free(r);

  // A request a few pages smaller than a mapping leaves it its tail (no unmapping, no cache slot for a few
  // pages); realloc and free take the whole mapping along.
  allocator->Trim();
  allocator->Free(allocator->Alloc(5 * mib));
  allocator->CollectStats(&stats);
  ASSERT_EQ(stats.large_cache_bytes, 5 * mib + guards);
  auto* t = static_cast<char*>(allocator->Alloc(5 * mib - 2 * kPageSize - 100));
  EXPECT_EQ(allocator->UsableSize(t), 5 * mib - 2 * kPageSize);
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 0u);
  std::memset(t, 4, allocator->UsableSize(t));
  auto* u = static_cast<char*>(allocator->Realloc(t, 9 * mib));
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u[5 * mib - 2 * kPageSize - 1], 4);
  EXPECT_EQ(allocator->UsableSize(u), 9 * mib);
  std::memset(u, 5, 9 * mib);
  allocator->Free(u);

  // malloc_trim gives the cache back.
  allocator->CollectStats(&stats);
  EXPECT_GT(stats.large_cache_bytes, 0u);
  EXPECT_GE(allocator->Trim(), 5 * mib);
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 0u);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, AdjacentFreedLargeMappingsMergeUpToTheCacheLimit) {
  const size_t mib = size_t{1} << 20;
  Options options = scalloc::testing::TestOptions();
  options.large_cache_mib = 16;
  TestAllocator<TypeParam> allocator(options);
  // Carve one mapping into three objects that lie back to back: a 12 MiB object, freed, then three requests.
  char* region = static_cast<char*>(allocator->Alloc(12 * mib));
  ASSERT_NE(region, nullptr);
  allocator->Free(region);
  const size_t guards = 2 * (TypeParam::kGuardLargeObjects ? kPageSize : 0);
  char* a = static_cast<char*>(allocator->Alloc(3 * mib));
  char* b = static_cast<char*>(allocator->Alloc(3 * mib));
  char* c = static_cast<char*>(allocator->Alloc(3 * mib));
  ASSERT_EQ(a, region);
  ASSERT_EQ(b, a + 3 * mib + guards);
  ASSERT_EQ(c, b + 3 * mib + guards);
  Stats stats;
  allocator->CollectStats(&stats);
  const size_t rest = 12 * mib + guards - 3 * (3 * mib + guards);
  EXPECT_EQ(stats.large_cache_bytes, rest);
  // Freed out of order, they and the rest become one mapping again, which a single request can take whole.
  allocator->Free(b);
  allocator->Free(a);
  allocator->Free(c);
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 12 * mib + guards);
  char* all = static_cast<char*>(allocator->Alloc(12 * mib));
  EXPECT_EQ(all, region);
  std::memset(all, 7, 12 * mib);
  allocator->Free(all);

  // A merge never makes an entry larger than the limit: a second 12 MiB mapping next to the cached one stays
  // apart, and only the older one goes to make room.
  char* first = static_cast<char*>(allocator->Alloc(12 * mib));
  char* second = static_cast<char*>(allocator->Alloc(12 * mib));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  allocator->Free(first);
  allocator->Free(second);
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 12 * mib + guards);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, ZeroedLargeAllocationIsZeroWhenItReusesAMapping) {
  TestAllocator<TypeParam> allocator;
  const size_t mib = size_t{1} << 20;
  // Fresh, trimmed, grown (fast mode; the hardened one maps afresh), tail kept.
  for (size_t size : {4 * mib, 2 * mib, 3 * mib + 5, 3 * mib}) {
    auto* p = static_cast<unsigned char*>(allocator->AllocZeroed(1, size));
    ASSERT_NE(p, nullptr);
    const size_t usable = allocator->UsableSize(p);
    for (size_t i = 0; i < usable; i += 512) ASSERT_EQ(p[i], 0) << "size " << size << " offset " << i;
    ASSERT_EQ(p[usable - 1], 0);
    std::memset(p, 0xab, usable);
    allocator->Free(p);
  }
}

TYPED_TEST(AllocatorTest, TheLargeObjectCacheKeepsToItsLimit) {
  const size_t mib = size_t{1} << 20;
  for (int64_t limit_mib : {0, 10}) {
    Options options = scalloc::testing::TestOptions();
    options.large_cache_mib = limit_mib;
    TestAllocator<TypeParam> allocator(options);
    std::vector<void*> blocks;
    for (int i = 0; i < 6; ++i) blocks.push_back(allocator->Alloc(3 * mib));
    for (void* p : blocks) allocator->Free(p);
    Stats stats;
    allocator->CollectStats(&stats);
    EXPECT_LE(stats.large_cache_bytes, static_cast<size_t>(limit_mib) * mib);
    // At least the last one stays. How much more depends on where the kernel put the six mappings: neighbours
    // merge, and a merged entry that has to make room goes whole (9 MiB of three merged objects for the fourth:
    // cutting pieces off it instead doubled large_churn's munmap calls).
    if (limit_mib != 0) {
      EXPECT_GE(stats.large_cache_bytes, 3 * mib);
    }
    // An object larger than the whole cache (and more than twice any entry, which the fast mode would grow) is
    // never kept.
    allocator->Free(allocator->Alloc(24 * mib));
    Stats after;
    allocator->CollectStats(&after);
    EXPECT_EQ(after.large_cache_bytes, stats.large_cache_bytes);
  }
}

TYPED_TEST(AllocatorTest, AGrowingHeapGivesTheLargeObjectCacheBackOnceItOutgrowsIt) {
  TestAllocator<TypeParam> allocator;
  allocator->Free(allocator->Alloc(size_t{4} << 20));
  Stats stats;
  allocator->CollectStats(&stats);
  ASSERT_GT(stats.large_cache_bytes, 0u);
  // Small blocks on spans without resident memory: about 1 MiB of growth keeps the 4 MiB mapping...
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(allocator->Alloc(1000));
  allocator->CollectStats(&stats);
  EXPECT_GT(stats.large_cache_bytes, 0u);
  // ...growth past its size gives it back.
  for (int i = 0; i < 5000; ++i) blocks.push_back(allocator->Alloc(1000));
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 0u);
  for (void* p : blocks) allocator->Free(p);
}

TEST(LargeObjectCacheTest, ZeroOnFreeUnmapsFreedLargeObjectsInsteadOfCachingThem) {
  Options options = scalloc::testing::TestOptions();
  options.zero_on_free = 1;
  TestAllocator<HardenedPolicy> allocator(options);
  allocator->Free(allocator->Alloc(size_t{4} << 20));
  Stats stats;
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.large_cache_bytes, 0u);
}

TYPED_TEST(AllocatorTest, UsableSizesDoNotDependOnThePolicy) {
  TestAllocator<FastPolicy> fast;
  TestAllocator<HardenedPolicy> hardened;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    size_t size = rng() % (i % 10 == 0 ? (size_t{3} << 20) : 2000);
    size_t alignment = size_t{1} << (rng() % 14);
    void* a = fast->AllocAligned(alignment, size);
    void* b = hardened->AllocAligned(alignment, size);
    ASSERT_EQ(fast->UsableSize(a), hardened->UsableSize(b)) << size << " " << alignment;
    fast->Free(a);
    hardened->Free(b);
  }
}

// Fills one span of the class of `size` completely; returns its blocks. One more allocation afterwards makes
// the LAB release it (floating).
template <class A>
std::vector<void*> FillOneSpan(A& allocator, size_t size) {
  std::vector<void*> blocks;
  void* first = allocator->Alloc(size);
  blocks.push_back(first);
  SpanMeta* span = allocator->SpanOfForTesting(first);
  while (blocks.size() < span->num_blocks) {
    void* p = allocator->Alloc(size);
    EXPECT_EQ(allocator->SpanOfForTesting(p), span);
    blocks.push_back(p);
  }
  return blocks;
}

TYPED_TEST(AllocatorTest, SpanLifeCycleFollowsTheReuseThreshold) {
  TestAllocator<TypeParam> allocator;
  const size_t size = 64;
  std::vector<void*> blocks = FillOneSpan(allocator, size);
  SpanMeta* span = allocator->SpanOfForTesting(blocks[0]);
  const uint32_t n = span->num_blocks;
  EXPECT_EQ(StateOf(allocator, blocks[0]), SpanState::kHot);
  void* next = allocator->Alloc(size);  // exhausts the hot span: it floats
  EXPECT_NE(allocator->SpanOfForTesting(next), span);
  EXPECT_EQ(StateOf(allocator, blocks[0]), SpanState::kFloating);
  EXPECT_TRUE(allocator->IsValidForTesting());

  const uint32_t limit = n * 80 / 100;  // reusable once fewer than 80% of the blocks are in use
  std::thread freer([&] {
    for (uint32_t freed = 1; freed <= n; ++freed) {
      allocator->Free(blocks[freed - 1]);
      uint32_t in_use = n - freed;
      SpanState expected = in_use == 0      ? SpanState::kFree
                           : in_use < limit ? SpanState::kReusable
                                            : SpanState::kFloating;
      if (in_use == 0) {
        EXPECT_EQ(span->block_bytes, 0u) << "an empty span goes back to the pool";
      } else {
        ASSERT_EQ(RemoteWord(span->remote.load()).state(), expected) << "after " << freed << " frees";
      }
    }
  });
  freer.join();
  EXPECT_TRUE(allocator->IsValidForTesting());
  allocator->Free(next);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, RemoteFreesOfABoundThreadAreBatchedPerSpan) {
  TestAllocator<TypeParam> allocator;
  std::vector<void*> blocks = FillOneSpan(allocator, 64);
  void* extra = allocator->Alloc(64);  // the filled span floats
  SpanMeta* span = allocator->SpanOfForTesting(blocks[0]);
  std::thread([&] {
    allocator->Free(allocator->Alloc(32));  // binds this thread to a LAB of the instance
    for (uint32_t i = 0; i < 10; ++i) allocator->Free(blocks[i]);
    EXPECT_EQ(RemoteWord(span->remote.load()).count(), 0u) << "ten frees wait in the batch";
    for (uint32_t i = 10; i < kRemoteBatchBlocks + 1; ++i) allocator->Free(blocks[i]);
    EXPECT_EQ(RemoteWord(span->remote.load()).count(), kRemoteBatchBlocks) << "a full batch is pushed at once";
    for (size_t i = kRemoteBatchBlocks + 1; i < blocks.size(); ++i) allocator->Free(blocks[i]);
  }).join();  // thread exit flushes the rest
  EXPECT_EQ(span->block_bytes, 0u) << "every block freed: the span is back in the pool";
  allocator->Free(extra);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

// Frees that alternate between spans the thread does not hold (older blocks of several classes freed in random
// order) each go to their span's own batch: no push until a batch is full or the thread refills or exits.
TYPED_TEST(AllocatorTest, RemoteFreesAlternatingBetweenSpansAreBatchedPerSpan) {
  TestAllocator<TypeParam> allocator;
  std::vector<void*> small = FillOneSpan(allocator, 64);
  std::vector<void*> big = FillOneSpan(allocator, 128);
  void* extra_small = allocator->Alloc(64);  // both filled spans float
  void* extra_big = allocator->Alloc(128);
  SpanMeta* small_span = allocator->SpanOfForTesting(small[0]);
  SpanMeta* big_span = allocator->SpanOfForTesting(big[0]);
  ASSERT_NE(RemoteBatchOffsetOf(small_span), RemoteBatchOffsetOf(big_span)) << "spans taken one after the other";
  std::thread([&] {
    allocator->Free(allocator->Alloc(32));  // binds this thread to a LAB of the instance
    for (uint32_t i = 0; i < 20; ++i) {
      allocator->Free(small[i]);
      allocator->Free(big[i]);
    }
    EXPECT_EQ(RemoteWord(small_span->remote.load()).count(), 0u);
    EXPECT_EQ(RemoteWord(big_span->remote.load()).count(), 0u);
    EXPECT_EQ(allocator->BatchedBlocksForTesting(small_span), 20u);
    EXPECT_EQ(allocator->BatchedBlocksForTesting(big_span), 20u);
    // A refill of any class pushes every batch.
    std::vector<void*> refill = FillOneSpan(allocator, 48);
    refill.push_back(allocator->Alloc(48));
    EXPECT_EQ(RemoteWord(small_span->remote.load()).count(), 20u);
    EXPECT_EQ(RemoteWord(big_span->remote.load()).count(), 20u);
    for (void* p : refill) allocator->Free(p);
    for (size_t i = 20; i < small.size(); ++i) allocator->Free(small[i]);
    for (size_t i = 20; i < big.size(); ++i) allocator->Free(big[i]);
  }).join();  // thread exit pushes the rest
  EXPECT_EQ(small_span->block_bytes, 0u) << "every block freed: the span is back in the pool";
  EXPECT_EQ(big_span->block_bytes, 0u);
  allocator->Free(extra_small);
  allocator->Free(extra_big);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

// A batch of big blocks would keep up to a span's worth of memory from everyone until the thread's next refill.
TYPED_TEST(AllocatorTest, RemoteFreesOfBlocksOf16KiBAndMoreAreNotBatched) {
  TestAllocator<TypeParam> allocator;
  for (size_t size : {size_t{kUnbatchedBlockBytes} - 1024, size_t{kUnbatchedBlockBytes}}) {
    std::vector<void*> blocks = FillOneSpan(allocator, size);
    void* extra = allocator->Alloc(size);  // the filled span floats
    SpanMeta* span = allocator->SpanOfForTesting(blocks[0]);
    std::thread([&] {
      allocator->Free(allocator->Alloc(32));  // binds this thread to a LAB of the instance
      allocator->Free(blocks[0]);
      allocator->Free(blocks[1]);
      const bool batched = size < kUnbatchedBlockBytes;
      EXPECT_EQ(RemoteWord(span->remote.load()).count(), batched ? 0u : 2u) << size;
      EXPECT_EQ(allocator->BatchedBlocksForTesting(span), batched ? 2u : 0u) << size;
    }).join();
    for (size_t i = 2; i < blocks.size(); ++i) allocator->Free(blocks[i]);
    allocator->Free(extra);
  }
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, ReusableSpansAreRevivedBeforeFreshOnes) {
  TestAllocator<TypeParam> allocator;
  const size_t size = 256;
  std::vector<void*> first = FillOneSpan(allocator, size);
  SpanMeta* old_span = allocator->SpanOfForTesting(first[0]);
  std::vector<void*> second = FillOneSpan(allocator, size);  // releases `first`'s span as floating
  ASSERT_EQ(StateOf(allocator, first[0]), SpanState::kFloating);
  // Another thread frees half of the first span: it becomes reusable.
  std::thread([&] {
    for (size_t i = 0; i < first.size(); i += 2) allocator->Free(first[i]);
  }).join();
  ASSERT_EQ(StateOf(allocator, first[1]), SpanState::kReusable);
  // The next span this LAB needs for the class is the reusable one, not a fresh one.
  void* p = allocator->Alloc(size);
  EXPECT_EQ(allocator->SpanOfForTesting(p), old_span);
  EXPECT_EQ(StateOf(allocator, p), SpanState::kHot);
  EXPECT_TRUE(allocator->IsValidForTesting());
  allocator->Free(p);
  for (size_t i = 1; i < first.size(); i += 2) allocator->Free(first[i]);
  for (void* q : second) allocator->Free(q);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

// A span made reusable by its last owner's own frees (that thread is likely still freeing into it) is left to
// that owner while the pool has a committed span to give another thread; with no such span, memory comes first.
template <class A>
void CheckRevivalOfADrainedSpan(A& allocator, bool with_cached_span, bool expect_other_thread_gets_it) {
  const size_t size = 256;
  std::vector<void*> first = FillOneSpan(allocator, size);
  SpanMeta* drained = allocator->SpanOfForTesting(first[0]);
  std::vector<void*> second = FillOneSpan(allocator, size);  // `drained` floats, owned by no one
  for (size_t i = 0; i < first.size(); i += 2) allocator->Free(first[i]);
  Stats stats;
  allocator->CollectStats(&stats);  // pushes this thread's pending remote frees
  ASSERT_EQ(StateOf(allocator, first[1]), SpanState::kReusable);
  if (with_cached_span) {
    // Put a committed span in the pool's cache: fill a span of another class, make it float, free it all.
    std::vector<void*> other_class = FillOneSpan(allocator, 4096);
    allocator->Free(allocator->Alloc(4096));
    for (void* p : other_class) allocator->Free(p);
    allocator->CollectStats(&stats);
    ASSERT_GT(stats.span_cache_bytes, 0u);
  }
  void* other = nullptr;
  std::thread([&] {
    other = allocator->Alloc(size);
    EXPECT_EQ(allocator->SpanOfForTesting(other) == drained, expect_other_thread_gets_it);
    allocator->Free(other);
  }).join();
  if (!expect_other_thread_gets_it) {
    void* mine = allocator->Alloc(size);  // this LAB's hot span is full: it revives the span it drained
    EXPECT_EQ(allocator->SpanOfForTesting(mine), drained);
    allocator->Free(mine);
  }
  for (size_t i = 1; i < first.size(); i += 2) allocator->Free(first[i]);
  for (void* q : second) allocator->Free(q);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, ASpanItsOwnerIsDrainingGoesBackToThatOwner) {
  TestAllocator<TypeParam> allocator;
  CheckRevivalOfADrainedSpan(allocator, /*with_cached_span=*/true, /*expect_other_thread_gets_it=*/false);
}

TYPED_TEST(AllocatorTest, ADrainedSpanIsRevivedByAnyThreadWhenThePoolHasNoCommittedSpan) {
  Options options = scalloc::testing::TestOptions();
  options.span_cache_mib = 0;
  TestAllocator<TypeParam> allocator(options);
  CheckRevivalOfADrainedSpan(allocator, /*with_cached_span=*/false, /*expect_other_thread_gets_it=*/true);
}

// Once the thread that drained a span has exited, the span is no longer anyone's to wait for.
TYPED_TEST(AllocatorTest, ADrainedSpanWhoseOwnerExitedIsRevivedByAnyThread) {
  TestAllocator<TypeParam> allocator;
  const size_t size = 256;
  void* bind = allocator->Alloc(16);  // this thread holds a LAB first, so the drainer's is another one
  SpanMeta* drained = nullptr;
  std::vector<void*> kept;
  std::thread([&] {
    std::vector<void*> first = FillOneSpan(allocator, size);
    drained = allocator->SpanOfForTesting(first[0]);
    std::vector<void*> second = FillOneSpan(allocator, size);  // `drained` floats
    for (size_t i = 0; i < first.size(); i += 2) allocator->Free(first[i]);
    for (size_t i = 1; i < first.size(); i += 2) kept.push_back(first[i]);
    for (void* q : second) allocator->Free(q);
  }).join();  // exit: pending frees are pushed, the LAB goes back to the registry
  ASSERT_EQ(RemoteWord(drained->remote.load()).state(), SpanState::kReusable);
  // A committed span in the pool's cache, as in ASpanItsOwnerIsDrainingGoesBackToThatOwner.
  std::vector<void*> other_class = FillOneSpan(allocator, 4096);
  allocator->Free(allocator->Alloc(4096));
  for (void* p : other_class) allocator->Free(p);
  Stats stats;
  allocator->CollectStats(&stats);
  ASSERT_GT(stats.span_cache_bytes, 0u);
  void* p = allocator->Alloc(size);
  EXPECT_EQ(allocator->SpanOfForTesting(p), drained);
  allocator->Free(p);
  for (void* q : kept) allocator->Free(q);
  allocator->Free(bind);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, ThresholdZeroOnlyReusesEmptySpans) {
  Options options = scalloc::testing::TestOptions();
  options.reuse_threshold = 0;
  TestAllocator<TypeParam> allocator(options);
  std::vector<void*> blocks = FillOneSpan(allocator, 32);
  void* extra = allocator->Alloc(32);
  std::thread([&] {
    for (size_t i = 0; i + 1 < blocks.size(); ++i) allocator->Free(blocks[i]);
  }).join();
  EXPECT_EQ(StateOf(allocator, blocks.back()), SpanState::kFloating);
  allocator->Free(blocks.back());
  allocator->Free(extra);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, RemoteFreesFromManyThreadsKeepTheHeapConsistent) {
  TestAllocator<TypeParam> allocator;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::vector<void*>> produced(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kPerThread; ++i) {
        size_t size = 1 + rng() % 3000;
        auto* p = static_cast<unsigned char*>(allocator->Alloc(size));
        p[0] = static_cast<unsigned char>(t);
        produced[t].push_back(p);
      }
    });
  }
  for (auto& th : threads) th.join();
  threads.clear();
  // Each thread frees another thread's blocks, interleaved with its own allocations.
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<void*> mine;
      for (void* p : produced[(t + 1) % kThreads]) {
        ASSERT_EQ(static_cast<unsigned char*>(p)[0], (t + 1) % kThreads);
        allocator->Free(p);
        mine.push_back(allocator->Alloc(48));
      }
      for (void* p : mine) allocator->Free(p);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

// Fresh blocks: the fast mode hands them out in address order; the hardened mode in a random order within each
// window of kFreshWindowBlocks consecutive blocks (every window a permutation of its blocks, windows in order).
TYPED_TEST(AllocatorTest, FreshBlocksComeInAddressOrderOrShuffledWithinWindows) {
  TestAllocator<TypeParam> allocator;
  constexpr size_t kSize = 48;
  constexpr size_t kBlocks = 64 * kFreshWindowBlocks;
  std::vector<uintptr_t> addresses;
  for (size_t i = 0; i < kBlocks; ++i) addresses.push_back(reinterpret_cast<uintptr_t>(allocator->Alloc(kSize)));
  const uintptr_t first = *std::min_element(addresses.begin(), addresses.end());
  size_t windows_in_order = 0;
  for (size_t w = 0; w < kBlocks / kFreshWindowBlocks; ++w) {
    std::vector<size_t> slots;
    for (size_t k = 0; k < kFreshWindowBlocks; ++k) {
      slots.push_back((addresses[w * kFreshWindowBlocks + k] - first) / kSize);
    }
    windows_in_order += std::is_sorted(slots.begin(), slots.end());
    std::sort(slots.begin(), slots.end());
    for (size_t k = 0; k < kFreshWindowBlocks; ++k) ASSERT_EQ(slots[k], w * kFreshWindowBlocks + k) << "window " << w;
  }
  if constexpr (TypeParam::kRandomizeFreshBlocks) {
    EXPECT_LT(windows_in_order, 3u) << "a window comes out sorted with probability 1/8!";
  } else {
    EXPECT_EQ(windows_in_order, kBlocks / kFreshWindowBlocks);
  }
  for (uintptr_t a : addresses) allocator->Free(reinterpret_cast<void*>(a));
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

// A thread that exits in the middle of a window of fresh blocks (hardened) hands the rest of the window on: the
// span's blocks are all accounted for and all of them can be allocated again.
TYPED_TEST(AllocatorTest, ThreadExitInTheMiddleOfAFreshWindowLosesNoBlock) {
  TestAllocator<TypeParam> allocator;
  constexpr size_t kSize = 96;
  void* kept = nullptr;
  std::thread([&] {
    kept = allocator->Alloc(kSize);
    allocator->Free(allocator->Alloc(kSize));
    EXPECT_TRUE(allocator->IsValidForTesting());
  }).join();
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), allocator->UsableSize(kept));
  SpanMeta* span = allocator->SpanOfForTesting(kept);
  std::set<void*> seen;
  std::thread([&] {
    for (uint32_t i = 0; i + 1 < span->num_blocks; ++i) {
      void* p = allocator->Alloc(kSize);
      EXPECT_EQ(allocator->SpanOfForTesting(p), span) << "the span is revived and filled first";
      EXPECT_TRUE(seen.insert(p).second) << "handed out twice";
    }
    EXPECT_TRUE(allocator->IsValidForTesting());
    for (void* p : seen) allocator->Free(p);
  }).join();
  EXPECT_EQ(seen.count(kept), 0u);
  allocator->Free(kept);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, ThreadExitHandsSpansOnAndLabsAreRecycled) {
  TestAllocator<TypeParam> allocator;
  std::vector<void*> survivors;
  for (int round = 0; round < 200; ++round) {
    std::thread([&] {
      for (int i = 0; i < 50; ++i) {
        void* p = allocator->Alloc(static_cast<size_t>(16 + (i % 7) * 100));
        if (i % 10 == 0) {
          survivors.push_back(p);
        } else {
          allocator->Free(p);
        }
      }
    }).join();
  }
  EXPECT_TRUE(allocator->IsValidForTesting());
  Stats stats;
  allocator->CollectStats(&stats);
  EXPECT_LE(stats.threads_bound, 1u) << "exited threads must give their LABs back";
  for (void* p : survivors) allocator->Free(p);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
  // Only a handful of spans should ever have been needed.
  EXPECT_LT(allocator->ArenaForTesting().spans_ever_used(), 64u);
}

// LABs come in chunks reserved as threads arrive: more threads alive at once than one chunk holds (here more
// than two chunks' worth) each get a LAB of their own and allocate normally.
TYPED_TEST(AllocatorTest, ThreadsBeyondOneLabChunkEachGetALab) {
  TestAllocator<TypeParam> allocator;
  constexpr int kThreads = 2 * static_cast<int>(kLabsPerChunk) + 100;
  std::atomic<int> allocated{0};
  std::atomic<bool> release{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto* p = static_cast<int*>(allocator->Alloc(64));
      if (p == nullptr) {
        failures.fetch_add(1);
      } else {
        *p = t;
      }
      allocated.fetch_add(1);
      while (!release.load()) std::this_thread::yield();
      if (p != nullptr && *p != t) failures.fetch_add(1);
      allocator->Free(p);
    });
  }
  while (allocated.load() < kThreads) std::this_thread::yield();
  Stats stats;
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.threads_bound, static_cast<uint64_t>(kThreads));
  release = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

TYPED_TEST(AllocatorTest, TrimReturnsCachedSpans) {
  TestAllocator<TypeParam> allocator;
  std::vector<void*> blocks;
  for (int i = 0; i < 20000; ++i) blocks.push_back(allocator->Alloc(1000));
  std::thread([&] {
    for (void* p : blocks) allocator->Free(p);
  }).join();
  allocator->FlushThreadCacheForTesting();
  Stats before;
  allocator->CollectStats(&before);
  EXPECT_GT(before.span_cache_bytes, 0u);
  EXPECT_GT(allocator->Trim(), 0u);
  Stats after;
  allocator->CollectStats(&after);
  EXPECT_EQ(after.span_cache_bytes, 0u);
  EXPECT_TRUE(allocator->IsValidForTesting());
}

TYPED_TEST(AllocatorTest, StatisticsCountAllocationsAndFreesPerClass) {
  TestAllocator<TypeParam> allocator;
  const size_t cls = SizeToClass(200);
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(allocator->Alloc(200));
  for (int i = 0; i < 300; ++i) allocator->Free(blocks[i]);
  std::thread([&] {  // remote frees count too
    for (int i = 300; i < 400; ++i) allocator->Free(blocks[i]);
  })
      .join();
  void* large = allocator->Alloc(size_t{3} << 20);
  Stats stats;
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.classes[cls].allocated_total, 1000u);
  EXPECT_EQ(stats.classes[cls].freed_total, 400u);
  EXPECT_EQ(stats.classes[cls].blocks_in_use, 600u);
  EXPECT_EQ(stats.large_allocated_total, 1u);
  EXPECT_EQ(stats.large_objects, 1u);
  EXPECT_EQ(stats.live_bytes, 600u * ClassToSize(cls) + allocator->UsableSize(large));
  allocator->Free(large);
  for (int i = 400; i < 1000; ++i) allocator->Free(blocks[i]);
  allocator->FlushThreadCacheForTesting();  // folds the LAB's counts into the instance totals
  allocator->CollectStats(&stats);
  EXPECT_EQ(stats.classes[cls].allocated_total, 1000u);
  EXPECT_EQ(stats.classes[cls].freed_total, 1000u);
  EXPECT_EQ(stats.large_freed_total, 1u);
  EXPECT_EQ(stats.live_bytes, 0u);
}

TYPED_TEST(AllocatorTest, InstancesAreIndependentAndReinitializable) {
  TestAllocator<TypeParam> a;
  TestAllocator<TypeParam> b;
  void* pa = a->Alloc(100);
  void* pb = b->Alloc(100);
  EXPECT_TRUE(a->ArenaForTesting().Contains(reinterpret_cast<uintptr_t>(pa)));
  EXPECT_TRUE(b->ArenaForTesting().Contains(reinterpret_cast<uintptr_t>(pb)));
  EXPECT_FALSE(a->ArenaForTesting().Contains(reinterpret_cast<uintptr_t>(pb)));
  // Alternating instances on one thread rebinds correctly.
  for (int i = 0; i < 1000; ++i) {
    void* x = a->Alloc(32);
    void* y = b->Alloc(32);
    a->Free(x);
    b->Free(y);
  }
  a->Free(pa);
  b->Free(pb);
  EXPECT_TRUE(a->IsValidForTesting());
  EXPECT_TRUE(b->IsValidForTesting());
  a->ReleaseAllForTesting();
  ASSERT_TRUE(a->Init());
  void* again = a->Alloc(100);
  EXPECT_TRUE(a->ArenaForTesting().Contains(reinterpret_cast<uintptr_t>(again)));
  a->Free(again);
}

// The arena fixes its whole address range at start but maps only kInitialArenaSpans spans (and their metadata);
// taking more spans maps more. Blocks of 1 MiB take a span each.
TYPED_TEST(AllocatorTest, ArenaMapsMoreOfItsRangeAsSpansAreTaken) {
  TestAllocator<TypeParam> allocator;
  const Arena<SystemOs>& arena = allocator->ArenaForTesting();
  ASSERT_EQ(arena.size_bytes(), kInitialArenaSpans * kVirtualSpanBytes);
  ASSERT_GT(arena.capacity_bytes(), 4 * kInitialArenaSpans * kVirtualSpanBytes);
  std::vector<void*> blocks;
  constexpr size_t kBlockBytes = kBiggestSpanBlock<TypeParam>;
  for (size_t i = 0; i < 3 * kInitialArenaSpans * kBiggestSpanBlocksPerSpan<TypeParam>; ++i) {
    void* p = allocator->Alloc(kBlockBytes);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(arena.Contains(reinterpret_cast<uintptr_t>(p))) << i;
    static_cast<char*>(p)[0] = 1;
    static_cast<char*>(p)[kBlockBytes - 1] = 2;
    blocks.push_back(p);
  }
  EXPECT_GE(arena.spans_ever_used(), 3 * kInitialArenaSpans);
  EXPECT_GE(arena.size_bytes(), 3 * kInitialArenaSpans * kVirtualSpanBytes);
  EXPECT_EQ(arena.num_spans(), arena.size_bytes() / kVirtualSpanBytes);
  EXPECT_TRUE(allocator->IsValidForTesting());
  for (void* p : blocks) allocator->Free(p);
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
}

// Another mapping right after the mapped part stops the arena from growing: small requests then get mappings
// of their own, and the foreign mapping is never taken for part of the arena.
TYPED_TEST(AllocatorTest, ArenaBlockedFromGrowingFallsBackToMappings) {
  TestAllocator<TypeParam> allocator;
  const Arena<SystemOs>& arena = allocator->ArenaForTesting();
  const uintptr_t after = arena.base() + arena.size_bytes();
  void* foreign = mmap(reinterpret_cast<void*>(after), kPageSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_EQ(foreign, reinterpret_cast<void*>(after));
  static_cast<char*>(foreign)[0] = 42;
  std::vector<void*> blocks;
  for (size_t i = 0; i < 2 * kInitialArenaSpans; ++i) {
    void* p = allocator->Alloc(kMaxSmallSize);
    ASSERT_NE(p, nullptr) << i;
    memset(p, static_cast<int>(i), kMaxSmallSize);
    blocks.push_back(p);
  }
  EXPECT_EQ(arena.size_bytes(), kInitialArenaSpans * kVirtualSpanBytes);
  EXPECT_FALSE(arena.Contains(after));
  EXPECT_EQ(static_cast<char*>(foreign)[0], 42);
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(static_cast<unsigned char*>(blocks[i])[kMaxSmallSize - 1], static_cast<unsigned char>(i));
    allocator->Free(blocks[i]);
  }
  EXPECT_TRUE(allocator->IsValidForTesting());
  EXPECT_EQ(allocator->LiveBytesForTesting(), 0u);
  munmap(foreign, kPageSize);
}

// The hardened fast paths reach a span's toggle words from its metadata address (one lea); the walkers and the
// arena from its index. Both must name the same words, for the first, a middle and the last span.
TEST(ArenaTest, ToggleWordsFromTheMetadataAddressMatchTheIndex) {
  TestAllocator<HardenedPolicy> allocator;
  const Arena<SystemOs>& arena = allocator->ArenaForTesting();
  for (uint32_t index : {0u, arena.num_spans() / 2, arena.num_spans() - 1}) {
    for (uint32_t group : {0u, 1u, static_cast<uint32_t>(kBitmapWordsPerSpan - 1)}) {
      EXPECT_EQ(arena.OwnerToggleWordOf(arena.Meta(index), group), arena.OwnerToggleWord(index, group))
          << "span " << index << " group " << group;
    }
  }
}

// Every window order is a permutation of the distances 1..size, and for a small window every permutation comes
// up (1,000 draws per size; each of the 6 orders of 3 blocks is expected about 167 times).
TEST(FreshWindowTest, ShuffledWindowsArePermutationsAndCoverEveryOrder) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint32_t size = 1; size <= kFreshWindowBlocks; ++size) {
    std::set<uint32_t> orders;
    for (int draw = 0; draw < 1000; ++draw) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const uint32_t window = FreshWindow::Shuffled(size, x);
      ASSERT_EQ(FreshWindow::Remaining(window), size);
      uint32_t seen = 0;
      for (uint32_t w = window; w != 0; w = FreshWindow::AfterTakingOne(w)) {
        const uint32_t distance = FreshWindow::NextDistance(w);
        ASSERT_GE(distance, 1u);
        ASSERT_LE(distance, size);
        ASSERT_EQ((seen >> distance) & 1, 0u) << "distance " << distance << " twice";
        seen |= 1u << distance;
      }
      orders.insert(window);
    }
    if (size <= 4) {
      EXPECT_EQ(orders.size(), size_t{size == 1 ? 1u : size == 2 ? 2u : size == 3 ? 6u : 24u}) << "size " << size;
    } else {
      EXPECT_GT(orders.size(), 100u) << "size " << size;
    }
  }
}

}  // namespace
}  // namespace scalloc::internal
