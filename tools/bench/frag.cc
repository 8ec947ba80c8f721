// frag workload: fills the heap with small blocks, frees 90% at random, refills about the freed
// volume with sizes of other classes, and reports the RSS after each phase: can freed memory be
// reused by other size classes or returned?
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

// A block records its own size in its first four bytes, so the bookkeeping is one pointer per block
// and adds little RSS of its own next to the heap being measured.
using Block = void*;

// Phase one uses 16..256 bytes in 16-byte steps, phase two 264..1016 bytes (8 past a multiple of
// 16), so the two phases use disjoint size classes.
size_t FirstSize(Rng& rng) { return 16 * rng.Range(1, 16); }
size_t SecondSize(Rng& rng) { return 16 * rng.Range(16, 63) + 8; }

uint32_t SizeOf(Block block) {
  uint32_t size;
  std::memcpy(&size, block, sizeof(size));
  return size;
}

uint64_t Release(Block block) {
  const uint32_t size = SizeOf(block);
  const unsigned char* bytes = static_cast<const unsigned char*>(block);
  const uint64_t digest = bytes[sizeof(size)] + bytes[size - 1] + size;
  std::free(block);
  return digest;
}

Block Allocate(size_t size) {
  Block block = CheckedMalloc(size);
  // Touch all of it: resident memory is what this workload measures.
  std::memset(block, static_cast<int>(size & 0xff), size);
  const uint32_t size32 = static_cast<uint32_t>(size);
  std::memcpy(block, &size32, sizeof(size32));
  return block;
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "frag: fill, free 90% at random, refill with other sizes; reports RSS per phase");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "threads, each doing its share"));
  const int64_t volume_mib = flags.Int("--volume-mib", 1024, 200, "bytes allocated in phase one, in MiB");
  const int64_t free_percent = flags.Int("--free-percent", 90, 90, "share of phase-one blocks freed");
  flags.Finish();
  if (threads < 1 || volume_mib < 1 || free_percent < 0 || free_percent > 100) flags.Die("invalid parameters");

  const uint64_t volume = static_cast<uint64_t>(volume_mib) << 20;
  std::vector<std::vector<Block>> kept(threads);
  std::vector<uint64_t> freed_bytes(threads);
  std::vector<uint64_t> sums(threads);
  std::vector<uint64_t> ops(threads);

  // Phase one and the random frees.
  RunThreads(threads, [&](int thread) {
    Rng rng(SeedFor(8, static_cast<uint64_t>(thread)));
    const uint64_t share = volume / static_cast<uint64_t>(threads);
    std::vector<Block> blocks;
    blocks.reserve(share / 128 + share / 1024);  // the mean of FirstSize() is 136 bytes
    uint64_t bytes = 0;
    while (bytes < share) {
      blocks.push_back(Allocate(FirstSize(rng)));
      bytes += SizeOf(blocks.back());
    }
    kept[thread].reserve(blocks.size());
    uint64_t sum = 0;
    for (Block block : blocks) {
      if (rng.Percent(static_cast<uint64_t>(free_percent))) {
        freed_bytes[thread] += SizeOf(block);
        sum = Mix(sum, Release(block));
      } else {
        kept[thread].push_back(block);
      }
    }
    sums[thread] = sum;
    ops[thread] = blocks.size() + (blocks.size() - kept[thread].size());
  });
  const uint64_t after_free_kib = ProcStatusKib("VmRSS");
  const uint64_t fill_peak_kib = ProcStatusKib("VmHWM");

  // Phase two: about the freed volume again, in other sizes.
  RunThreads(threads, [&](int thread) {
    Rng rng(SeedFor(9, static_cast<uint64_t>(thread)));
    uint64_t bytes = 0;
    while (bytes < freed_bytes[thread]) {
      kept[thread].push_back(Allocate(SecondSize(rng)));
      bytes += SizeOf(kept[thread].back());
      ++ops[thread];
    }
  });
  const uint64_t final_kib = ProcStatusKib("VmRSS");

  uint64_t checksum = 0;
  uint64_t total_ops = 0;
  for (int t = 0; t < threads; ++t) {
    for (Block block : kept[t]) sums[t] = Mix(sums[t], Release(block));
    checksum += sums[t];
    total_ops += ops[t] + kept[t].size();
  }
  std::printf("phase1_peak_rss_kib=%" PRIu64 "\n", fill_peak_kib);
  std::printf("after_free_rss_kib=%" PRIu64 "\n", after_free_kib);
  std::printf("final_rss_kib=%" PRIu64 "\n", final_kib);
  PrintResult(checksum, total_ops);
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
