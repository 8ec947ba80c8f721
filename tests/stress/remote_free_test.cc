// Remote frees: blocks allocated by one thread and freed by another, in a ring of eight threads, with contents
// verified on arrival so a block handed out twice or corrupted by a concurrent free list shows up.

#include <malloc.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/stress/stress_util.h"

namespace scalloc {
namespace stress {
namespace {

struct Block {
  void* data;
  size_t size;
  uint64_t tag;
};

using Batch = std::vector<Block>;

// Unbounded multi-producer queue of batches; the receiver blocks only once it has sent everything itself.
class Mailbox {
 public:
  void Send(Batch batch) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batches_.push_back(std::move(batch));
    }
    ready_.notify_one();
  }

  bool TryReceive(Batch* batch) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (batches_.empty()) return false;
    *batch = std::move(batches_.front());
    batches_.pop_front();
    return true;
  }

  Batch Receive() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return !batches_.empty(); });
    Batch batch = std::move(batches_.front());
    batches_.pop_front();
    return batch;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Batch> batches_;
};

struct RingResult {
  size_t received_blocks = 0;
  size_t bad_blocks = 0;
  size_t bad_usable_size = 0;
};

uint64_t Tag(int thread, uint64_t sequence) { return (static_cast<uint64_t>(thread) << 40) | sequence; }

// Checks and frees a batch that another thread allocated.
void Consume(const Batch& batch, RingResult* result) {
  for (const Block& block : batch) {
    ++result->received_blocks;
    if (malloc_usable_size(block.data) < block.size) ++result->bad_usable_size;
    if (!CheckBlock(block.data, block.size, block.tag)) ++result->bad_blocks;
    free(block.data);
  }
}

void RunRing(int num_threads, int batches_per_thread, int blocks_per_batch, std::vector<RingResult>* results) {
  std::vector<Mailbox> mailboxes(static_cast<size_t>(num_threads));
  results->assign(static_cast<size_t>(num_threads), RingResult{});
  std::vector<std::thread> threads;
  for (int t = 0; t < num_threads; ++t) {
    threads.emplace_back([&, t] {
      RingResult& result = (*results)[static_cast<size_t>(t)];
      Mailbox& inbox = mailboxes[static_cast<size_t>(t)];
      Mailbox& next = mailboxes[static_cast<size_t>((t + 1) % num_threads)];
      Rng rng(static_cast<uint64_t>(t) + 1);
      uint64_t sequence = 0;
      int received_batches = 0;
      // Blocks this thread keeps for a while and frees itself, so local and remote frees hit the same spans.
      std::vector<Block> kept;
      for (int b = 0; b < batches_per_thread; ++b) {
        Batch batch;
        batch.reserve(static_cast<size_t>(blocks_per_batch));
        for (int i = 0; i < blocks_per_batch; ++i) {
          const size_t size = MixedSize(rng);
          void* data = malloc(size);
          if (data == nullptr) {
            ++result.bad_blocks;
            continue;
          }
          const uint64_t tag = Tag(t, sequence++);
          FillBlock(data, size, tag);
          if (rng.Below(8) == 0) {
            kept.push_back(Block{data, size, tag});
          } else {
            batch.push_back(Block{data, size, tag});
          }
        }
        next.Send(std::move(batch));
        Batch incoming;
        while (inbox.TryReceive(&incoming)) {
          Consume(incoming, &result);
          ++received_batches;
        }
        if (kept.size() > 256) {
          Consume(kept, &result);
          result.received_blocks -= kept.size();
          kept.clear();
        }
      }
      while (received_batches < batches_per_thread) {
        Consume(inbox.Receive(), &result);
        ++received_batches;
      }
      Consume(kept, &result);
      result.received_blocks -= kept.size();
    });
  }
  for (std::thread& thread : threads) thread.join();
}

TEST(RemoteFreeTest, EightThreadRingVerifiesContents) {
  constexpr int kThreads = 8;
  constexpr int kBatches = 150;
  constexpr int kBlocksPerBatch = 80;
  std::vector<RingResult> results;
  RunRing(kThreads, kBatches, kBlocksPerBatch, &results);
  size_t received = 0;
  for (int t = 0; t < kThreads; ++t) {
    const RingResult& result = results[static_cast<size_t>(t)];
    EXPECT_EQ(result.bad_blocks, 0u) << "thread " << t << " received corrupted blocks";
    EXPECT_EQ(result.bad_usable_size, 0u) << "thread " << t;
    received += result.received_blocks;
  }
  // About 7/8 of all blocks travel to the next thread; the rest are freed locally.
  EXPECT_GT(received, static_cast<size_t>(kThreads * kBatches * kBlocksPerBatch) * 3 / 4);
}

TEST(RemoteFreeTest, RepeatedRingsDoNotGrowMemory) {
  // The same ring three times: spans freed remotely must become reusable, not accumulate.
  std::vector<RingResult> results;
  RunRing(8, 60, 64, &results);
  const size_t baseline = ResidentBytes();
  for (int round = 0; round < 3; ++round) {
    RunRing(8, 60, 64, &results);
    for (const RingResult& result : results) ASSERT_EQ(result.bad_blocks, 0u);
  }
  const size_t after = ResidentBytes();
  EXPECT_LT(after, baseline + 64 * kMiB) << "RSS grew from " << ToMiB(baseline) << " MiB to " << ToMiB(after)
                                         << " MiB over repeated identical rings";
}

TEST(RemoteFreeTest, ManyThreadsFreeOneThreadsBlocks) {
  // One producer, many consumers freeing concurrently into the same spans' remote lists.
  constexpr int kConsumers = 6;
  constexpr size_t kBlocks = 60000;
  std::vector<Block> blocks;
  blocks.reserve(kBlocks);
  Rng rng(99);
  for (size_t i = 0; i < kBlocks; ++i) {
    const size_t size = 16 + 16 * rng.Below(16);
    void* data = malloc(size);
    ASSERT_NE(data, nullptr);
    FillBlock(data, size, i);
    blocks.push_back(Block{data, size, i});
  }
  std::atomic<size_t> next{0};
  std::atomic<size_t> bad{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&] {
      for (;;) {
        const size_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= kBlocks) break;
        if (!CheckBlock(blocks[i].data, blocks[i].size, blocks[i].tag)) bad.fetch_add(1);
        free(blocks[i].data);
      }
    });
  }
  // The owner keeps allocating from the same size classes while its spans receive remote frees.
  std::vector<void*> mine;
  for (int i = 0; i < 40000; ++i) {
    void* p = malloc(16 + 16 * rng.Below(16));
    ASSERT_NE(p, nullptr);
    mine.push_back(p);
  }
  for (std::thread& consumer : consumers) consumer.join();
  for (void* p : mine) free(p);
  EXPECT_EQ(bad.load(), 0u);
}

}  // namespace
}  // namespace stress
}  // namespace scalloc
