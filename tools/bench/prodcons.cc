// prodcons workload: producer threads allocate blocks and pass them in batches through a bounded
// queue to consumer threads, which free them: every free is remote, and freed memory has to find
// its way back to the producers.
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

struct Item {
  void* block;
  size_t size;
  uint64_t tag;
};

// A batch is heap-allocated by the producer and freed by the consumer, like its blocks.
struct Batch {
  std::vector<Item> items;
};

// Bounded multi-producer multi-consumer queue of batches; a null batch tells one consumer to stop.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  void Push(Batch* batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [this] { return queue_.size() < capacity_; });
    queue_.push_back(batch);
    not_empty_.notify_one();
  }

  Batch* Pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [this] { return !queue_.empty(); });
    Batch* batch = queue_.front();
    queue_.pop_front();
    not_full_.notify_one();
    return batch;
  }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Batch*> queue_;
};

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "prodcons: producers allocate, consumers free (all frees are remote)");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "producer/consumer pairs"));
  const int64_t total_blocks = flags.Int("--blocks", 20000000, 4000000, "blocks, summed over producers");
  const int64_t batch_size = flags.Int("--batch", 256, 256, "blocks per batch");
  const int64_t capacity = flags.Int("--queue", 64, 64, "queue capacity in batches");
  const int64_t min_size = flags.Int("--min-size", 16, 16, "smallest block");
  const int64_t max_size = flags.Int("--max-size", 512, 512, "largest block");
  flags.Finish();
  if (threads < 1 || total_blocks < 0 || batch_size < 1 || capacity < 1 || min_size < 1 || max_size < min_size) {
    flags.Die("invalid parameters");
  }

  const int64_t batches_per_producer = total_blocks / batch_size / threads;
  BatchQueue queue(static_cast<size_t>(capacity));
  // Slots 0..threads-1 hold producer results, the rest consumer results; the total is their sum.
  std::vector<uint64_t> sums(2 * threads);
  RunThreads(2 * threads, [&](int thread) {
    uint64_t sum = 0;
    if (thread < threads) {
      Rng rng(SeedFor(3, static_cast<uint64_t>(thread)));
      for (int64_t b = 0; b < batches_per_producer; ++b) {
        Batch* batch = new Batch;
        batch->items.resize(static_cast<size_t>(batch_size));
        for (Item& item : batch->items) {
          item.size = rng.Range(static_cast<uint64_t>(min_size), static_cast<uint64_t>(max_size));
          item.tag = rng.Next();
          item.block = CheckedMalloc(item.size);
          WriteTag(item.block, item.size, item.tag);
          sum += item.size;
        }
        queue.Push(batch);
      }
      queue.Push(nullptr);  // one stop marker per producer, one per consumer
    } else {
      while (Batch* batch = queue.Pop()) {
        for (const Item& item : batch->items) {
          sum += ReadTag(item.block, item.size, item.tag);
          std::free(item.block);
        }
        delete batch;
      }
    }
    sums[thread] = sum;
  });

  uint64_t checksum = 0;
  for (uint64_t sum : sums) checksum += sum;
  PrintResult(checksum, 2 * static_cast<uint64_t>(batches_per_producer * batch_size * threads));
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
