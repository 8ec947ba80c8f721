// Thread churn: a hundred thousand short-lived threads that allocate, free, and hand blocks to the main
// thread before exiting. Thread exit must hand the thread's spans on, so memory stays bounded.

#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/stress/stress_util.h"

namespace scalloc {
namespace stress {
namespace {

struct HandedBlock {
  void* data;
  size_t size;
  uint64_t tag;
};

class Handoff {
 public:
  void Give(HandedBlock block) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.push_back(block);
  }
  std::vector<HandedBlock> TakeAll() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<HandedBlock> taken;
    taken.swap(blocks_);
    return taken;
  }

 private:
  std::mutex mutex_;
  std::vector<HandedBlock> blocks_;
};

// The body of one short-lived thread: a few blocks of different classes (small, coarse, and now and then a
// large object), most freed locally, some left for the main thread.
void ShortLivedThread(uint64_t id, Handoff* handoff) {
  Rng rng(id);
  constexpr int kBlocks = 6;
  void* blocks[kBlocks];
  size_t sizes[kBlocks];
  for (int i = 0; i < kBlocks; ++i) {
    sizes[i] = MixedSize(rng);
    blocks[i] = malloc(sizes[i]);
    if (blocks[i] == nullptr) abort();
    FillBlock(blocks[i], sizes[i], id * 16 + static_cast<uint64_t>(i));
  }
  // A std::string and a vector exercise operator new from the same thread.
  std::string text(static_cast<size_t>(20 + rng.Below(200)), 'x');
  std::vector<int> numbers(static_cast<size_t>(rng.Below(500)), 7);
  Escape(text.data());
  Escape(numbers.data());
  for (int i = 0; i < kBlocks; ++i) {
    if (i < 2 && rng.Below(3) == 0) {
      handoff->Give(HandedBlock{blocks[i], sizes[i], id * 16 + static_cast<uint64_t>(i)});
    } else {
      free(blocks[i]);
    }
  }
}

// Runs `count` threads, `wave` at a time; after every wave the main thread verifies and frees what it got.
// Returns the number of handed-over blocks that failed their contents check.
size_t RunChurn(uint64_t first_id, int count, int wave, Handoff* handoff) {
  size_t bad = 0;
  uint64_t id = first_id;
  for (int done = 0; done < count; done += wave) {
    std::vector<std::thread> threads;
    threads.reserve(static_cast<size_t>(wave));
    for (int i = 0; i < wave; ++i) threads.emplace_back(ShortLivedThread, id++, handoff);
    for (std::thread& thread : threads) thread.join();
    for (const HandedBlock& block : handoff->TakeAll()) {
      if (!CheckBlock(block.data, block.size, block.tag)) ++bad;
      free(block.data);
    }
  }
  return bad;
}

TEST(ThreadChurnTest, HundredThousandShortLivedThreadsStayBounded) {
  Handoff handoff;
  constexpr int kWave = 8;
  // Warm-up: the C library caches thread stacks and the allocator sizes its structures.
  ASSERT_EQ(RunChurn(1, 1000, kWave, &handoff), 0u);
  const size_t baseline = ResidentBytes();
  ASSERT_EQ(RunChurn(1001, 99000, kWave, &handoff), 0u);
  const size_t after = ResidentBytes();
  EXPECT_LT(after, baseline + 64 * kMiB) << "RSS grew from " << ToMiB(baseline) << " MiB to " << ToMiB(after)
                                         << " MiB over 99000 thread exits";
}

TEST(ThreadChurnTest, BlocksOutliveTheirThread) {
  // Blocks of exited threads are freed long after, in a different order, by another thread.
  Handoff handoff;
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([t, &handoff] {
      for (int i = 0; i < 200; ++i) {
        const size_t size = 16 + 16 * static_cast<size_t>((t + i) % 40);
        void* p = malloc(size);
        if (p == nullptr) abort();
        const uint64_t tag = static_cast<uint64_t>(t) * 1000 + static_cast<uint64_t>(i);
        FillBlock(p, size, tag);
        handoff.Give(HandedBlock{p, size, tag});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<HandedBlock> blocks = handoff.TakeAll();
  ASSERT_EQ(blocks.size(), 64u * 200u);
  // Allocate more after the owners are gone: the orphaned spans must not hand out live blocks again.
  std::vector<HandedBlock> fresh;
  for (int i = 0; i < 5000; ++i) {
    const size_t size = 16 + 16 * static_cast<size_t>(i % 40);
    void* p = malloc(size);
    ASSERT_NE(p, nullptr);
    FillBlock(p, size, (uint64_t{1} << 30) | static_cast<uint64_t>(i));
    fresh.push_back(HandedBlock{p, size, (uint64_t{1} << 30) | static_cast<uint64_t>(i)});
  }
  size_t bad = 0;
  for (size_t i = blocks.size(); i-- > 0;) {
    if (!CheckBlock(blocks[i].data, blocks[i].size, blocks[i].tag)) ++bad;
    free(blocks[i].data);
  }
  for (const HandedBlock& block : fresh) {
    if (!CheckBlock(block.data, block.size, block.tag)) ++bad;
    free(block.data);
  }
  EXPECT_EQ(bad, 0u);
}

}  // namespace
}  // namespace stress
}  // namespace scalloc
