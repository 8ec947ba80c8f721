// shbench workload (in the spirit of MicroQuill's): mostly small blocks, some larger, with mixed
// lifetimes: most die at once, some live in a replacement pool, a few live long and are released
// in bulk. Threads split the total work.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

struct Block {
  void* p = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};

// 85% of requests are small (8..128 bytes), 13% medium (128..2048), 2% large (2 KiB..64 KiB).
size_t PickSize(Rng& rng) {
  const uint64_t dice = rng.Next() % 100;
  if (dice < 85) return rng.Range(8, 128);
  if (dice < 98) return rng.Range(129, 2048);
  return rng.Range(2049, 65536);
}

class Worker {
 public:
  Worker(uint64_t seed, size_t pool_size, size_t long_capacity)
      : rng_(seed), short_ring_(kShortRing), pool_(pool_size), long_capacity_(long_capacity) {
    long_lived_.reserve(long_capacity);
  }

  ~Worker() { FreeAll(); }

  // Frees every live block; their tags count towards the checksum.
  void FreeAll() {
    for (Block& block : short_ring_) Drop(block);
    for (Block& block : pool_) Drop(block);
    for (Block& block : long_lived_) Drop(block);
    long_lived_.clear();
  }

  void Step() {
    Block block;
    block.size = PickSize(rng_);
    block.tag = rng_.Next();
    block.p = CheckedMalloc(block.size);
    WriteTag(block.p, block.size, block.tag);
    ++allocs_;
    const uint64_t kind = rng_.Next() % 100;
    if (kind < 70) {
      // Short-lived: replaces the block allocated kShortRing steps of this kind ago.
      Block& old = short_ring_[short_next_++ % kShortRing];
      Drop(old);
      old = block;
    } else if (kind < 96) {
      Block& old = pool_[rng_.Next() % pool_.size()];
      Drop(old);
      old = block;
    } else {
      if (long_lived_.size() == long_capacity_) {
        // Release the older half in one go, as a program finishing a phase would.
        const size_t half = long_capacity_ / 2;
        for (size_t i = 0; i < half; ++i) Drop(long_lived_[i]);
        long_lived_.erase(long_lived_.begin(), long_lived_.begin() + static_cast<std::ptrdiff_t>(half));
      }
      long_lived_.push_back(block);
    }
  }

  uint64_t sum() const { return sum_; }
  uint64_t ops() const { return 2 * allocs_; }

 private:
  static constexpr size_t kShortRing = 16;

  void Drop(Block& block) {
    if (block.p == nullptr) return;
    sum_ = Mix(sum_, ReadTag(block.p, block.size, block.tag));
    std::free(block.p);
    block.p = nullptr;
  }

  Rng rng_;
  std::vector<Block> short_ring_;
  size_t short_next_ = 0;
  std::vector<Block> pool_;
  std::vector<Block> long_lived_;
  size_t long_capacity_;
  uint64_t sum_ = 0;
  uint64_t allocs_ = 0;
};

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "shbench: mixed sizes with short, medium and long lifetimes");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "worker threads"));
  const int64_t total = flags.Int("--allocs", 20000000, 4000000, "allocations, summed over threads");
  const int64_t pool = flags.Int("--pool", 4096, 4096, "medium-lifetime pool slots per thread");
  const int64_t long_capacity = flags.Int("--long", 2000, 2000, "long-lived blocks kept per thread");
  flags.Finish();
  if (threads < 1 || total < 0 || pool < 1 || long_capacity < 2) flags.Die("invalid parameters");

  std::vector<uint64_t> sums(threads);
  std::vector<uint64_t> ops(threads);
  RunThreads(threads, [&](int thread) {
    Worker worker(SeedFor(4, static_cast<uint64_t>(thread)), static_cast<size_t>(pool),
                  static_cast<size_t>(long_capacity));
    for (int64_t i = 0; i < total / threads; ++i) worker.Step();
    worker.FreeAll();
    sums[thread] = worker.sum();
    ops[thread] = worker.ops();
  });

  uint64_t checksum = 0;
  uint64_t total_ops = 0;
  for (int t = 0; t < threads; ++t) {
    checksum += sums[t];
    total_ops += ops[t];
  }
  PrintResult(checksum, total_ops);
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
