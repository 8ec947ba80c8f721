// large_churn workload (after mimalloc-bench's malloc-large): each thread keeps a few slots of large blocks and
// replaces a random slot's block with one of a random size, over and over. By default only the first and last
// bytes of a block are written, so the cost is the allocator's handling of big mappings; with --touch every page
// is written, as a program filling a buffer would, so memory that is mapped afresh each time also pays its page
// faults.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

constexpr size_t kPage = 4096;

struct Slot {
  unsigned char* block = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};

// Writes the block's tag at both ends and, with `touch`, one word per page in between.
void Fill(const Slot& slot, bool touch) {
  WriteTag(slot.block, slot.size, slot.tag);
  if (touch) {
    // Stops short of the tag at the end.
    for (size_t offset = kPage; offset + 2 * sizeof(uint64_t) <= slot.size; offset += kPage) {
      std::memcpy(slot.block + offset, &slot.tag, sizeof(slot.tag));
    }
  }
}

uint64_t Release(Slot& slot) {
  if (slot.block == nullptr) return 0;
  const uint64_t tag = ReadTag(slot.block, slot.size, slot.tag);
  std::free(slot.block);
  slot.block = nullptr;
  return Mix(tag, slot.size);
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "large_churn: replace random slots of large blocks (mimalloc-bench's malloc-large)");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "threads, each doing its share"));
  const int64_t replacements = flags.Int("--replacements", 100000, 20000, "block replacements, summed over threads");
  const int64_t slots = flags.Int("--slots", 20, 20, "slots per thread");
  const int64_t min_kib = flags.Int("--min-kib", 5 * 1024, 5 * 1024, "smallest block in KiB");
  const int64_t max_kib = flags.Int("--max-kib", 25 * 1024, 25 * 1024, "largest block in KiB");
  const bool touch = flags.Bool("--touch", "write one word per page of every block, not just its ends");
  flags.Finish();
  if (threads < 1 || replacements < 0 || slots < 1 || min_kib < 1 || max_kib < min_kib) {
    flags.Die("invalid parameters");
  }

  std::vector<uint64_t> sums(threads);
  RunThreads(threads, [&](int thread) {
    Rng rng(SeedFor(11, static_cast<uint64_t>(thread)));
    std::vector<Slot> table(static_cast<size_t>(slots));
    uint64_t sum = 0;
    const int64_t share = replacements / threads;
    for (int64_t i = 0; i < share; ++i) {
      Slot& slot = table[rng.Next() % table.size()];
      sum = Mix(sum, Release(slot));
      // Sizes are not page multiples, as a program's would not be.
      slot.size =
          static_cast<size_t>(rng.Range(static_cast<uint64_t>(min_kib) * 1024, static_cast<uint64_t>(max_kib) * 1024));
      slot.block = static_cast<unsigned char*>(CheckedMalloc(slot.size));
      slot.tag = rng.Next();
      Fill(slot, touch);
    }
    for (Slot& slot : table) sum = Mix(sum, Release(slot));
    sums[thread] = sum;
  });
  uint64_t checksum = 0;
  for (uint64_t sum : sums) checksum += sum;
  PrintResult(checksum, static_cast<uint64_t>(replacements / threads * threads) * 2);
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
