// Memory return: after a gigabyte of small blocks is allocated and freed, malloc_trim(0) must give the memory
// back to the OS, so the resident set drops to where it started.

#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/stress/stress_util.h"

namespace scalloc {
namespace stress {
namespace {

constexpr size_t kGiB = 1024 * kMiB;
constexpr size_t kAllowedGrowth = 64 * kMiB;

// Blocks are chained through their first word, with a check word next to it, so the test keeps no side
// table whose own memory would blur the measurement.
struct Link {
  Link* next;
  uint64_t check;
};

uint64_t CheckWord(const Link* link, size_t size) { return reinterpret_cast<uintptr_t>(link) ^ size ^ 0x5ca11; }

// Allocates `total_bytes` of blocks whose sizes come from `size_of(i)`, touching each block entirely.
template <class SizeFn>
Link* AllocateChain(size_t total_bytes, SizeFn size_of, size_t* count) {
  Link* head = nullptr;
  size_t allocated = 0;
  *count = 0;
  for (size_t i = 0; allocated < total_bytes; ++i) {
    const size_t size = size_of(i);
    auto* link = static_cast<Link*>(malloc(size));
    if (link == nullptr) return head;
    memset(static_cast<void*>(link), 0x3c, size);
    link->next = head;
    link->check = CheckWord(link, size);
    head = link;
    allocated += size;
    ++*count;
  }
  return head;
}

// Frees the chain and returns how many blocks had a damaged check word.
template <class SizeFn>
size_t FreeChain(Link* head, size_t count, SizeFn size_of) {
  size_t bad = 0;
  // The chain runs newest first, so block i has size size_of(count - 1 - position).
  size_t index = count;
  while (head != nullptr) {
    --index;
    Link* next = head->next;
    if (head->check != CheckWord(head, size_of(index))) ++bad;
    free(head);
    head = next;
  }
  return bad;
}

void ExpectMemoryReturned(size_t baseline, size_t peak, size_t after_trim, const char* what,
                          size_t allowed_growth = kAllowedGrowth) {
  EXPECT_GE(peak, baseline + 900 * kMiB) << what << ": the allocation did not become resident (peak " << ToMiB(peak)
                                         << " MiB, baseline " << ToMiB(baseline) << " MiB)";
  EXPECT_LT(after_trim, baseline + allowed_growth)
      << what << ": RSS baseline " << ToMiB(baseline) << " MiB, peak " << ToMiB(peak) << " MiB, after free + "
      << "malloc_trim(0) " << ToMiB(after_trim) << " MiB";
}

TEST(MemoryReturnTest, OneGibOf64ByteBlocks) {
  auto size_of = [](size_t) -> size_t { return 64; };
  const size_t baseline = ResidentBytes();
  size_t count = 0;
  Link* chain = AllocateChain(kGiB, size_of, &count);
  ASSERT_EQ(count, kGiB / 64);
  const size_t peak = ResidentBytes();
  EXPECT_EQ(FreeChain(chain, count, size_of), 0u);
  malloc_trim(0);
  ExpectMemoryReturned(baseline, peak, ResidentBytes(), "64-byte blocks");
}

TEST(MemoryReturnTest, OneGibOfMixedSmallBlocks) {
  // Sizes up to 32 KiB, spread over the small and coarse classes.
  auto size_of = [](size_t i) -> size_t {
    const uint64_t x = PatternWord(7, i);
    return (x % 8 == 0) ? 4096 + 16 * ((x >> 8) % 1792) : 16 + 16 * ((x >> 8) % 64);
  };
  const size_t baseline = ResidentBytes();
  size_t count = 0;
  Link* chain = AllocateChain(kGiB, size_of, &count);
  const size_t peak = ResidentBytes();
  EXPECT_EQ(FreeChain(chain, count, size_of), 0u);
  malloc_trim(0);
  ExpectMemoryReturned(baseline, peak, ResidentBytes(), "mixed small blocks");
}

TEST(MemoryReturnTest, BlocksOfExitedThreadsFreedRemotely) {
  // Four threads allocate 256 MiB each and exit; the main thread frees everything, so every span is emptied by
  // remote frees after its owner is gone.
  constexpr int kThreads = 4;
  auto size_of = [](size_t i) -> size_t { return 32 + 32 * (i % 8); };
  const size_t baseline = ResidentBytes();
  std::vector<Link*> chains(kThreads);
  std::vector<size_t> counts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { chains[t] = AllocateChain(kGiB / kThreads, size_of, &counts[t]); });
  }
  for (std::thread& thread : threads) thread.join();
  const size_t peak = ResidentBytes();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(FreeChain(chains[t], counts[t], size_of), 0u);
  malloc_trim(0);
  // 10% of the gigabyte: per-thread structures may keep a little more than a single thread does (glibc's
  // per-thread arenas keep about 85 MiB here).
  ExpectMemoryReturned(baseline, peak, ResidentBytes(), "blocks of exited threads", kGiB / 10);
}

TEST(MemoryReturnTest, RepeatedCyclesDoNotAccumulate) {
  // Allocate and free 256 MiB four times; without returning memory in between, the second and later rounds
  // must reuse what the first left behind rather than add to it.
  auto size_of = [](size_t i) -> size_t { return 48 + 16 * (i % 5); };
  const size_t baseline = ResidentBytes();
  size_t worst = 0;
  for (int round = 0; round < 4; ++round) {
    size_t count = 0;
    Link* chain = AllocateChain(256 * kMiB, size_of, &count);
    ASSERT_EQ(FreeChain(chain, count, size_of), 0u);
    const size_t now = ResidentBytes();
    if (now > worst) worst = now;
  }
  EXPECT_LT(worst, baseline + 256 * kMiB + kAllowedGrowth)
      << "RSS baseline " << ToMiB(baseline) << " MiB, worst after a round " << ToMiB(worst) << " MiB";
}

}  // namespace
}  // namespace stress
}  // namespace scalloc
