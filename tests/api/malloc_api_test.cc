// glibc-compatible semantics of the C allocation API (malloc, calloc, realloc, the aligned and page-aligned
// forms, malloc_usable_size and the mallinfo/mallopt family), errno included. The same tests pass against
// glibc itself, so they double as a compatibility check.

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"

// Newer C library entry points (C23, glibc 2.39+); weak so the test also links against an older glibc, where
// they are simply absent.
extern "C" {
__attribute__((weak)) void free_sized(void* ptr, size_t size);
__attribute__((weak)) void free_aligned_sized(void* ptr, size_t alignment, size_t size);
// glibc's internal names, exported by libc.so.6 (and by a malloc that replaces it); no header declares them.
void* __libc_malloc(size_t size);
void __libc_free(void* ptr);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
}

namespace scalloc {
namespace {

using testing_util::Address;
using testing_util::CheckPattern;
using testing_util::Escape;
using testing_util::FillPattern;
using testing_util::IsAligned;
using testing_util::Launder;
using testing_util::VirtualMemoryBytes;

constexpr size_t kMinAlignment = 16;
constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kMaxTestedAlignment = 16 * kMiB;

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Sizes that cover tiny, every small-class boundary region, the coarse classes and direct mappings.
std::vector<size_t> InterestingSizes() {
  return {0,    1,    15,   16,   17,        24,     100,      255,  256,      257,
          1000, 4095, 4096, 4097, 32 * 1024, 100000, kMiB - 1, kMiB, kMiB + 1, 3 * kMiB + 5};
}

TEST(MallocTest, ZeroSizeReturnsUniqueFreeableBlocks) {
  void* a = malloc(Launder(size_t{0}));
  void* b = malloc(Launder(size_t{0}));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(Address(a), Address(b));
  EXPECT_TRUE(IsAligned(a, kMinAlignment));
  free(a);
  free(b);
}

// Blocks cross freely between the public names and glibc's internal ones: both must be the same allocator
// (a wrapper calling __libc_malloc must not get a block that free() cannot take).
TEST(MallocTest, LibcInternalNamesAreTheSameAllocator) {
  for (size_t size : {size_t{1}, size_t{100}, size_t{700}, size_t{5000}, size_t{3} << 20}) {
    void* reference = malloc(size);
    void* p = __libc_malloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(malloc_usable_size(p), malloc_usable_size(reference)) << size;
    std::memset(p, 0x5a, size);
    p = __libc_realloc(p, size * 2);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(static_cast<unsigned char*>(p)[size - 1], 0x5a);
    EXPECT_EQ(malloc_usable_size(p), malloc_usable_size(reference = realloc(reference, size * 2))) << size;
    free(p);
    __libc_free(reference);
  }
  auto* zeroed = static_cast<unsigned char*>(__libc_calloc(100, 3));
  ASSERT_NE(zeroed, nullptr);
  EXPECT_TRUE(std::all_of(zeroed, zeroed + 300, [](unsigned char c) { return c == 0; }));
  free(zeroed);
  void* aligned = __libc_memalign(4096, 100);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 4096, 0u);
  free(aligned);
}

TEST(MallocTest, FreeNullIsNoOp) {
  free(Launder<void*>(nullptr));
  errno = 0;
  free(Launder<void*>(nullptr));
  EXPECT_EQ(errno, 0);
}

// free() leaves errno alone (POSIX 2024; glibc since 2.33), also when the memory calls it makes fail.
TEST(MallocTest, FreeLeavesErrnoAlone) {
  constexpr int kSentinel = 1789;
  std::vector<void*> blocks;
  for (size_t size : {16, 100, 4000, 70000, 1 << 20, (1 << 20) + 1, 5 << 20, 40 << 20}) {
    const int count = size < (1 << 20) ? 200 : 2;  // two of each large size, an odd and an even one
    for (int i = 0; i < count; ++i) blocks.push_back(malloc(size < (1 << 20) ? size : size + i % 2));
  }
  for (void* p : blocks) {
    ASSERT_NE(p, nullptr);
    errno = kSentinel;
    free(p);
    ASSERT_EQ(errno, kSentinel);
  }

  // Unmapping or protecting the middle of a mapping needs one more mapping; at the process's limit the kernel
  // refuses. Cover a large block and a page on each side with one mapping of our own, use up the limit, then
  // free the block.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t big = size_t{16} << 20;
  char* block = static_cast<char*>(malloc(big - 256));
  ASSERT_NE(block, nullptr);
  char* first = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(block) & ~(page - 1));
  // The block's pages, with whatever header the allocator keeps in front of it on its first page.
  std::vector<char> saved(first, first + big);
  ASSERT_NE(mmap(first - page, big + 2 * page, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, -1, 0),
            MAP_FAILED);
  std::memcpy(first, saved.data(), saved.size());
  const int fd = memfd_create("scalloc-vma-filler", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(page)), 0);
  std::vector<void*> fillers;
  for (int i = 0; i < 70000; ++i) {  // file mappings of one page never merge with their neighbours
    void* filler = mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, 0);
    if (filler == MAP_FAILED) break;
    fillers.push_back(filler);
  }
  errno = kSentinel;
  free(block);
  const int after = errno;
  for (void* filler : fillers) munmap(filler, page);
  close(fd);
  EXPECT_EQ(after, kSentinel);
}

TEST(MallocTest, EverySmallSizeIsSixteenByteAlignedAndUsable) {
  std::vector<void*> blocks;
  blocks.reserve(4097);
  for (size_t size = 0; size <= 4096; ++size) {
    void* p = malloc(Launder(size));
    ASSERT_NE(p, nullptr) << "size " << size;
    EXPECT_TRUE(IsAligned(p, kMinAlignment)) << "size " << size << " at " << p;
    EXPECT_GE(malloc_usable_size(p), size);
    memset(p, 0x5a, size);
    blocks.push_back(p);
  }
  // All live at once: no two blocks may overlap.
  std::vector<std::pair<uintptr_t, size_t>> ranges;
  for (size_t size = 0; size < blocks.size(); ++size) ranges.emplace_back(Address(blocks[size]), size);
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_LE(ranges[i - 1].first + ranges[i - 1].second, ranges[i].first) << "blocks overlap";
  }
  for (void* p : blocks) free(p);
}

TEST(MallocTest, RandomLargeSizesAreSixteenByteAligned) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<size_t> dist(4097, 8 * kMiB);
  for (int i = 0; i < 200; ++i) {
    const size_t size = dist(rng);
    void* p = malloc(Launder(size));
    ASSERT_NE(p, nullptr) << "size " << size;
    EXPECT_TRUE(IsAligned(p, kMinAlignment)) << "size " << size;
    EXPECT_GE(malloc_usable_size(p), size);
    static_cast<char*>(p)[0] = 1;
    static_cast<char*>(p)[size - 1] = 2;
    Escape(p);
    free(p);
  }
}

TEST(MallocTest, ImpossibleSizesFailWithEnomem) {
  const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 4096, static_cast<size_t>(PTRDIFF_MAX) + 1,
                          static_cast<size_t>(PTRDIFF_MAX)};
  for (size_t size : sizes) {
    errno = 0;
    void* p = malloc(Launder(size));
    EXPECT_EQ(p, nullptr) << "size " << size;
    EXPECT_EQ(errno, ENOMEM) << "size " << size;
  }
}

TEST(MallocTest, AllocatorStillWorksAfterFailures) {
  errno = 0;
  EXPECT_EQ(malloc(Launder(SIZE_MAX)), nullptr);
  void* p = malloc(Launder(size_t{64}));
  ASSERT_NE(p, nullptr);
  free(p);
}

TEST(CallocTest, ReturnsZeroedMemory) {
  for (size_t size : InterestingSizes()) {
    auto* p = static_cast<unsigned char*>(calloc(1, Launder(size)));
    ASSERT_NE(p, nullptr) << "size " << size;
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(p[i], 0) << "size " << size << " byte " << i;
    free(p);
  }
}

TEST(CallocTest, ZeroesReusedDirtyMemory) {
  // Dirty many blocks of each size, free them, then calloc the same sizes: the allocator will hand out the
  // freshly freed (dirty) blocks and must still clear them.
  const size_t sizes[] = {16, 48, 100, 256, 1000, 5000, 64 * 1024, 300 * 1024, 2 * kMiB};
  for (size_t size : sizes) {
    const int count = size >= 64 * 1024 ? 8 : 256;
    std::vector<void*> blocks;
    for (int i = 0; i < count; ++i) {
      void* p = malloc(Launder(size));
      ASSERT_NE(p, nullptr);
      memset(p, 0xab, size);
      Escape(p);
      blocks.push_back(p);
    }
    for (void* p : blocks) free(p);
    blocks.clear();
    for (int i = 0; i < count; ++i) {
      auto* p = static_cast<unsigned char*>(calloc(Launder(size / 4), 4));
      ASSERT_NE(p, nullptr);
      for (size_t j = 0; j < size; ++j) ASSERT_EQ(p[j], 0) << "size " << size << " block " << i << " byte " << j;
      blocks.push_back(p);
    }
    for (void* p : blocks) free(p);
  }
}

TEST(CallocTest, ZeroCountOrSizeReturnsFreeableBlock) {
  void* a = calloc(Launder(size_t{0}), 16);
  void* b = calloc(16, Launder(size_t{0}));
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  free(a);
  free(b);
}

TEST(CallocTest, OverflowFailsWithEnomem) {
  const std::pair<size_t, size_t> cases[] = {
      {SIZE_MAX / 2, 3}, {3, SIZE_MAX / 2}, {SIZE_MAX, SIZE_MAX}, {size_t{1} << 32, size_t{1} << 32}, {SIZE_MAX, 1}};
  for (const auto& [n, size] : cases) {
    errno = 0;
    void* p = calloc(Launder(n), Launder(size));
    EXPECT_EQ(p, nullptr) << n << " x " << size;
    EXPECT_EQ(errno, ENOMEM) << n << " x " << size;
  }
}

TEST(ReallocTest, NullPointerActsLikeMalloc) {
  void* p = realloc(Launder<void*>(nullptr), Launder(size_t{100}));
  ASSERT_NE(p, nullptr);
  EXPECT_GE(malloc_usable_size(p), 100u);
  EXPECT_TRUE(IsAligned(p, kMinAlignment));
  memset(p, 1, 100);
  free(p);
  void* q = realloc(Launder<void*>(nullptr), Launder(size_t{0}));
  EXPECT_NE(q, nullptr);
  free(q);
}

TEST(ReallocTest, ZeroSizeFreesAndReturnsNull) {
  // glibc (REALLOC_ZERO_BYTES_FREES): realloc(p, 0) frees p and returns NULL without touching errno.
  for (size_t size : {size_t{1}, size_t{100}, size_t{5000}, 2 * kMiB}) {
    void* p = malloc(Launder(size));
    ASSERT_NE(p, nullptr);
    errno = 0;
    EXPECT_EQ(realloc(p, Launder(size_t{0})), nullptr) << "size " << size;
    EXPECT_EQ(errno, 0);
  }
}

TEST(ReallocTest, PreservesContentsAcrossSmallLargeSmall) {
  const size_t steps[] = {24,       64,   200,    256,  3000, 4096, 40000, 200 * 1024, kMiB + 7, 4 * kMiB,
                          9 * kMiB, kMiB, 100000, 5000, 50,   17,   300,   3 * kMiB,   16};
  size_t size = 8;
  void* p = malloc(size);
  ASSERT_NE(p, nullptr);
  FillPattern(p, size, 1);
  size_t valid = size;  // bytes that carry the pattern
  for (size_t next : steps) {
    void* q = realloc(p, Launder(next));
    ASSERT_NE(q, nullptr) << size << " -> " << next;
    EXPECT_TRUE(IsAligned(q, kMinAlignment));
    EXPECT_GE(malloc_usable_size(q), next);
    const size_t kept = std::min(valid, next);
    EXPECT_EQ(CheckPattern(q, kept, 1), kept) << "contents lost in realloc " << size << " -> " << next;
    FillPattern(q, next, 1);
    valid = next;
    size = next;
    p = q;
  }
  free(p);
}

TEST(ReallocTest, ManyInPlaceGrowthsKeepContents) {
  // Grow one byte at a time through every small size, as string builders do.
  char* p = nullptr;
  for (size_t size = 1; size <= 5000; ++size) {
    p = static_cast<char*>(realloc(p, Launder(size)));
    ASSERT_NE(p, nullptr);
    p[size - 1] = static_cast<char>(size * 13);
  }
  for (size_t size = 1; size <= 5000; ++size) ASSERT_EQ(p[size - 1], static_cast<char>(size * 13));
  free(p);
}

TEST(ReallocTest, HugeSizeFailsAndKeepsOriginal) {
  for (size_t size : {size_t{32}, size_t{4000}, 2 * kMiB}) {
    void* p = malloc(size);
    ASSERT_NE(p, nullptr);
    FillPattern(p, size, 7);
    for (size_t huge : {SIZE_MAX, SIZE_MAX - 65536, static_cast<size_t>(PTRDIFF_MAX) + 1}) {
      errno = 0;
      EXPECT_EQ(realloc(Launder(p), Launder(huge)), nullptr);
      EXPECT_EQ(errno, ENOMEM);
      EXPECT_EQ(CheckPattern(p, size, 7), size) << "realloc failure changed the block";
    }
    // The original is still a live, resizable block.
    void* q = realloc(p, size * 2);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(CheckPattern(q, size, 7), size);
    free(q);
  }
}

TEST(ReallocarrayTest, WorksAndDetectsOverflow) {
  auto* p = static_cast<int*>(reallocarray(nullptr, Launder(size_t{10}), sizeof(int)));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i) p[i] = i;
  p = static_cast<int*>(reallocarray(p, Launder(size_t{1000}), sizeof(int)));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  errno = 0;
  EXPECT_EQ(reallocarray(Launder(p), Launder(SIZE_MAX / 2), 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i) << "failed reallocarray changed the block";
  errno = 0;
  EXPECT_EQ(reallocarray(nullptr, Launder(SIZE_MAX / 2), 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  free(p);
}

// Runs `check` for every power of two alignment in [min_alignment, 16 MiB] and a set of sizes that includes
// sizes below, at and above the alignment.
template <class Fn>
void ForEachAlignmentAndSize(size_t min_alignment, Fn check) {
  for (size_t alignment = min_alignment; alignment <= kMaxTestedAlignment; alignment *= 2) {
    const size_t sizes[] = {0, 1, 8, 24, 100, 4096, alignment - 1, alignment, alignment + 1, 3 * alignment / 2 + 5};
    for (size_t size : sizes) check(alignment, size);
  }
}

// Checks a block returned by an aligned allocation: alignment, usable size, and that every page is writable.
void CheckAlignedBlock(void* p, size_t alignment, size_t size) {
  ASSERT_NE(p, nullptr) << "alignment " << alignment << " size " << size;
  EXPECT_TRUE(IsAligned(p, alignment)) << "alignment " << alignment << " size " << size << " at " << p;
  EXPECT_GE(malloc_usable_size(p), size) << "alignment " << alignment << " size " << size;
  auto* bytes = static_cast<unsigned char*>(p);
  if (size <= 64 * 1024) {
    memset(bytes, 0xc3, size);
  } else {
    for (size_t i = 0; i < size; i += 4096) bytes[i] = 0xc3;
    bytes[size - 1] = 0xc3;
  }
  Escape(p);
}

TEST(MemalignTest, HonoursEveryPowerOfTwoAlignment) {
  ForEachAlignmentAndSize(1, [](size_t alignment, size_t size) {
    void* p = memalign(Launder(alignment), Launder(size));
    CheckAlignedBlock(p, alignment, size);
    free(p);
  });
}

TEST(PosixMemalignTest, HonoursEveryPowerOfTwoAlignment) {
  ForEachAlignmentAndSize(sizeof(void*), [](size_t alignment, size_t size) {
    void* p = nullptr;
    errno = 0;
    ASSERT_EQ(posix_memalign(&p, Launder(alignment), Launder(size)), 0)
        << "alignment " << alignment << " size " << size;
    EXPECT_EQ(errno, 0);
    CheckAlignedBlock(p, alignment, size);
    free(p);
  });
}

TEST(PosixMemalignTest, BadAlignmentReturnsEinvalAndLeavesOutputAlone) {
  const size_t bad[] = {0, 1, 2, 4, 3, 12, 24, 48, 100, 4097, (size_t{1} << 20) + 8, SIZE_MAX};
  void* const sentinel = reinterpret_cast<void*>(uintptr_t{0x1234560});
  for (size_t alignment : bad) {
    void* p = sentinel;
    errno = 0;
    EXPECT_EQ(posix_memalign(&p, Launder(alignment), 16), EINVAL) << "alignment " << alignment;
    EXPECT_EQ(p, sentinel) << "alignment " << alignment;
    // posix_memalign reports errors through its return value, not errno.
    EXPECT_EQ(errno, 0) << "alignment " << alignment;
  }
}

TEST(PosixMemalignTest, HugeSizeReturnsEnomemAndLeavesOutputAlone) {
  void* const sentinel = reinterpret_cast<void*>(uintptr_t{0x1234560});
  for (size_t alignment : {size_t{8}, size_t{64}, size_t{4096}, 2 * kMiB}) {
    for (size_t size : {SIZE_MAX, SIZE_MAX - alignment, static_cast<size_t>(PTRDIFF_MAX)}) {
      void* p = sentinel;
      errno = EDOM;
      EXPECT_EQ(posix_memalign(&p, Launder(alignment), Launder(size)), ENOMEM)
          << "alignment " << alignment << " size " << size;
      EXPECT_EQ(p, sentinel);
#if defined(SCALLOC_TESTS_LINK_OVERRIDE)
      // The man page promises errno is not set; glibc 2.36 itself leaves ENOMEM there, so only scalloc is
      // held to it.
      EXPECT_EQ(errno, EDOM) << "alignment " << alignment << " size " << size;
#endif
    }
  }
}

TEST(AlignedAllocTest, HonoursEveryPowerOfTwoAlignment) {
  ForEachAlignmentAndSize(1, [](size_t alignment, size_t size) {
    errno = 0;
    void* p = aligned_alloc(Launder(alignment), Launder(size));
    CheckAlignedBlock(p, alignment, size);
    free(p);
  });
}

TEST(AlignedAllocTest, ZeroSizeBlocksAreDistinctAndFreeable) {
  // Two live zero-size blocks are two objects: they must not share an address, whatever the alignment.
  for (size_t alignment = 1; alignment <= kMaxTestedAlignment; alignment *= 2) {
    void* blocks[4] = {memalign(Launder(alignment), Launder(size_t{0})),
                       aligned_alloc(Launder(alignment), Launder(size_t{0})), nullptr, nullptr};
    ASSERT_EQ(posix_memalign(&blocks[2], Launder(std::max(alignment, sizeof(void*))), Launder(size_t{0})), 0);
    blocks[3] = memalign(Launder(alignment), Launder(size_t{0}));
    for (int i = 0; i < 4; ++i) {
      ASSERT_NE(blocks[i], nullptr) << "alignment " << alignment;
      EXPECT_TRUE(IsAligned(blocks[i], alignment)) << "alignment " << alignment;
      // Must be a known block (hardened mode rejects pointers it did not hand out).
      Escape(blocks[i]);
      (void)malloc_usable_size(blocks[i]);
      for (int j = 0; j < i; ++j) {
        EXPECT_NE(Address(blocks[i]), Address(blocks[j])) << "alignment " << alignment << " blocks " << j << ", " << i;
      }
    }
    for (void* p : blocks) free(p);
  }
}

TEST(AlignedAllocTest, BadAlignmentIsRejectedOrRoundedUp) {
  // C17 (DR 460) and glibc >= 2.38 fail with EINVAL for an alignment that is not a power of two; glibc 2.36
  // (Debian 12) rounds it up to the next power of two like memalign. Both are accepted, nothing else.
  for (size_t alignment : {size_t{0}, size_t{3}, size_t{24}, size_t{48}, size_t{100}, size_t{4097}}) {
    errno = 0;
    void* p = aligned_alloc(Launder(alignment), 64);
    if (p == nullptr) {
      EXPECT_EQ(errno, EINVAL) << "alignment " << alignment;
    } else {
      size_t rounded = 1;
      while (rounded < alignment) rounded *= 2;
      EXPECT_TRUE(IsAligned(p, rounded)) << "alignment " << alignment;
      EXPECT_GE(malloc_usable_size(p), 64u);
      free(p);
    }
  }
}

TEST(AlignedAllocTest, HugeSizeFailsWithEnomem) {
  for (size_t alignment : {size_t{16}, size_t{4096}, 2 * kMiB}) {
    errno = 0;
    EXPECT_EQ(aligned_alloc(Launder(alignment), Launder(SIZE_MAX)), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT_EQ(memalign(Launder(alignment), Launder(SIZE_MAX - alignment)), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
  // An alignment no mapping can honour.
  errno = 0;
  EXPECT_EQ(memalign(Launder(size_t{1} << 63), 16), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(AlignedAllocTest, AlignedBlocksCanBeReallocated) {
  void* p = aligned_alloc(Launder(size_t{4096}), 100);
  ASSERT_NE(p, nullptr);
  FillPattern(p, 100, 3);
  p = realloc(p, 100000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(CheckPattern(p, 100, 3), 100u);
  free(p);
}

TEST(VallocTest, PageAligned) {
  const size_t page = PageSize();
  for (size_t size : {size_t{0}, size_t{1}, page - 1, page, page + 1, 10 * page + 3, 3 * kMiB}) {
    void* p = valloc(Launder(size));
    CheckAlignedBlock(p, page, size);
    free(p);
  }
}

TEST(VallocTest, PvallocRoundsUpToWholePages) {
  const size_t page = PageSize();
  for (size_t size : {size_t{1}, page - 1, page, page + 1, 10 * page + 3, 3 * kMiB + 1}) {
    void* p = pvalloc(Launder(size));
    const size_t rounded = (size + page - 1) / page * page;
    CheckAlignedBlock(p, page, rounded);
    free(p);
  }
  // pvalloc(0) gives a page-aligned, freeable block (glibc does not promise a whole page for it).
  void* p = pvalloc(Launder(size_t{0}));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(IsAligned(p, page));
  free(p);
}

TEST(VallocTest, HugeSizesFailWithEnomem) {
  errno = 0;
  EXPECT_EQ(valloc(Launder(SIZE_MAX - 100)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(pvalloc(Launder(SIZE_MAX - 100)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(UsableSizeTest, NullIsZeroAndLiveBlocksCoverTheRequest) {
  EXPECT_EQ(malloc_usable_size(Launder<void*>(nullptr)), 0u);
  for (size_t size : InterestingSizes()) {
    void* p = malloc(Launder(size));
    ASSERT_NE(p, nullptr);
    const size_t usable = malloc_usable_size(p);
    EXPECT_GE(usable, size);
    // The whole usable size belongs to the caller.
    memset(p, 0x77, usable);
    Escape(p);
    free(p);
  }
}

TEST(FreeSizedTest, FreeSizedAcceptsTheRequestedSize) {
  if (free_sized == nullptr) GTEST_SKIP() << "free_sized is not provided by this C library";
  for (size_t size : InterestingSizes()) {
    void* p = malloc(Launder(size));
    ASSERT_NE(p, nullptr);
    free_sized(p, size);
    void* q = calloc(1, Launder(size));
    ASSERT_NE(q, nullptr);
    free_sized(q, size);
  }
  free_sized(nullptr, 0);
}

TEST(FreeSizedTest, FreeAlignedSizedAcceptsTheRequest) {
  if (free_aligned_sized == nullptr) GTEST_SKIP() << "free_aligned_sized is not provided by this C library";
  for (size_t alignment = 1; alignment <= 4 * kMiB; alignment *= 4) {
    for (size_t size : {size_t{1}, alignment, 3 * alignment + 1}) {
      void* p = aligned_alloc(Launder(alignment), Launder(size));
      ASSERT_NE(p, nullptr);
      free_aligned_sized(p, alignment, size);
    }
  }
  free_aligned_sized(nullptr, 64, 0);
}

TEST(MalloptTest, KnownParametersAreAccepted) {
  // scalloc tunes itself differently, but programs that call mallopt must keep working.
  EXPECT_EQ(mallopt(M_ARENA_MAX, 8), 1);
  EXPECT_EQ(mallopt(M_TRIM_THRESHOLD, 128 * 1024), 1);
  EXPECT_EQ(mallopt(M_TOP_PAD, 0), 1);
  EXPECT_EQ(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
  // glibc's results: unknown parameters are accepted too, an M_MXFAST above its limit is not.
  EXPECT_EQ(mallopt(Launder(12345), 1), 1);
  EXPECT_EQ(mallopt(M_MXFAST, 64), 1);
  EXPECT_EQ(mallopt(M_MXFAST, 4096), 0);
  void* p = malloc(1000);
  ASSERT_NE(p, nullptr);
  free(p);
}

TEST(MallinfoTest, UsedBytesFollowAllocations) {
  const struct mallinfo2 before = mallinfo2();
  // 10 MiB in 1 KiB blocks: ordinary heap blocks for every allocator (glibc counts direct mappings elsewhere).
  constexpr size_t kBlock = 1024;
  constexpr size_t kCount = 10 * kMiB / kBlock;
  std::vector<void*> blocks;
  blocks.reserve(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    void* p = malloc(Launder(kBlock));
    ASSERT_NE(p, nullptr);
    memset(p, 1, kBlock);
    blocks.push_back(p);
  }
  const struct mallinfo2 during = mallinfo2();
  EXPECT_GE(during.uordblks, before.uordblks + 9 * kMiB)
      << "uordblks before " << before.uordblks << " during " << during.uordblks;
  // Plausibility: the heap the allocator reports holds at least what is in use.
  EXPECT_GE(during.arena + during.hblkhd, during.uordblks);
  for (void* p : blocks) free(p);
  const struct mallinfo2 after = mallinfo2();
  EXPECT_LT(after.uordblks, during.uordblks - 8 * kMiB)
      << "uordblks during " << during.uordblks << " after " << after.uordblks;
}

TEST(MallocTrimTest, ReturnsZeroOrOne) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(malloc(Launder(size_t{4000})));
  for (void* p : blocks) free(p);
  const int result = malloc_trim(0);
  EXPECT_TRUE(result == 0 || result == 1) << result;
  EXPECT_TRUE(malloc_trim(1 << 20) == 0 || malloc_trim(1 << 20) == 1);
  void* p = malloc(100);
  ASSERT_NE(p, nullptr);
  free(p);
}

TEST(MallocInfoTest, WritesXmlAndRejectsOptionsLikeGlibc) {
  char* text = nullptr;
  size_t length = 0;
  FILE* stream = open_memstream(&text, &length);
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(malloc_info(0, stream), 0);
  errno = 0;
  EXPECT_EQ(malloc_info(1, stream), EINVAL);  // glibc returns the error number and leaves errno alone
  EXPECT_EQ(errno, 0);
  fclose(stream);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(std::string(text).rfind("<malloc", 0), 0u) << text;
  free(text);
}

TEST(MallocStatsTest, PrintsToStderr) {
  void* keep = malloc(Launder(size_t{12345}));
  ::testing::internal::CaptureStderr();
  malloc_stats();
  fflush(stderr);
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(output.empty());
  free(keep);
}

// A process may lower RLIMIT_AS after the allocator started (sandboxes do; glibc's tst-malloc-thread-fail sets
// 200 MB): the allocator must not hold address space it does not use, so threads can still be created, and
// allocation up to the limit fails with ENOMEM instead of crashing.
constexpr size_t kLoweredLimit = 512 * kMiB;
constexpr int kLimitThreads = 8;

constexpr size_t kBlocksPerLimitThread = 65536;  // at most 64 MiB per thread in 1 KiB blocks
struct LimitThread {
  std::atomic<int>* failures;
  void* blocks[kBlocksPerLimitThread];  // set up before the limit: the test's own bookkeeping must not fail
};
LimitThread g_limit_threads[kLimitThreads];
// Every thread holds its blocks until all have allocated, so that they are live at the same time (a thread that
// freed early would make room for the others).
pthread_barrier_t g_limit_barrier;

void* AllocateUntilFailure(void* state) {
  auto* thread = static_cast<LimitThread*>(state);
  size_t count = 0;
  for (; count < kBlocksPerLimitThread; ++count) {
    void* p = malloc(Launder(size_t{1024}));
    if (p == nullptr) {
      if (errno != ENOMEM) thread->failures->fetch_add(100);
      thread->failures->fetch_add(1);
      break;
    }
    memset(p, 7, 1024);
    thread->blocks[count] = p;
  }
  void* large = malloc(Launder(64 * kMiB));  // more than is left under the limit with everything live
  if (large == nullptr && errno != ENOMEM) thread->failures->fetch_add(100);
  free(large);
  pthread_barrier_wait(&g_limit_barrier);
  for (size_t i = 0; i < count; ++i) free(thread->blocks[i]);
  return nullptr;
}

[[noreturn]] void RunUnderLoweredAddressSpaceLimit() {
  free(malloc(Launder(size_t{100})));                       // the allocator is up before the limit comes
  if (VirtualMemoryBytes() > kLoweredLimit / 2) _exit(10);  // address space held without being used
  struct rlimit limit = {kLoweredLimit, kLoweredLimit};
  if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(11);
  pthread_attr_t small_stack;
  pthread_attr_init(&small_stack);
  pthread_attr_setstacksize(&small_stack, 256 * 1024);
  std::atomic<int> failures{0};
  pthread_barrier_init(&g_limit_barrier, nullptr, kLimitThreads);
  pthread_t threads[kLimitThreads];
  for (int i = 0; i < kLimitThreads; ++i) {
    g_limit_threads[i].failures = &failures;
    if (pthread_create(&threads[i], &small_stack, AllocateUntilFailure, &g_limit_threads[i]) != 0) _exit(12);
  }
  for (pthread_t& thread : threads) pthread_join(thread, nullptr);
  // 8 x 64 MiB of blocks cannot all fit under 512 MiB: some threads saw ENOMEM, and none saw another error.
  if (failures.load() == 0) _exit(13);
  if (failures.load() >= 100) _exit(14);
  void* after = malloc(Launder(size_t{1000}));  // everything was freed: allocation works again
  _exit(after != nullptr ? 0 : 15);
}

TEST(MallocDeathTest, AddressSpaceLimitLoweredAfterStart) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunUnderLoweredAddressSpaceLimit(), ::testing::ExitedWithCode(0), "");
}

// malloc, free and malloc_stats are not cancellation points (POSIX; glibc's tst-malloc-stats-cancellation): a
// thread with a cancel pending gets through all of them, its first malloc included (which sets up its
// per-thread state), prints the statistics, and is cancelled at the next real cancellation point.
std::atomic<int> g_cancel_steps{0};

void* AllocateWithCancelPending(void*) {
  pthread_cancel(pthread_self());
  void* small = malloc(Launder(size_t{100}));
  g_cancel_steps = 1;
  void* large = malloc(Launder(size_t{3} << 20));
  g_cancel_steps = 2;
  free(small);
  free(large);
  g_cancel_steps = 3;
  malloc_stats();
  g_cancel_steps = 4;
  pthread_testcancel();
  g_cancel_steps = 5;
  return nullptr;
}

TEST(MallocTest, NotACancellationPoint) {
  ::testing::internal::CaptureStderr();
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, AllocateWithCancelPending, nullptr), 0);
  void* result = nullptr;
  ASSERT_EQ(pthread_join(thread, &result), 0);
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, PTHREAD_CANCELED);
  EXPECT_EQ(g_cancel_steps.load(), 4);
  EXPECT_FALSE(output.empty()) << "malloc_stats printed nothing";
}

}  // namespace
}  // namespace scalloc
