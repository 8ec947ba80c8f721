// realloc_large workload: blocks grow from 1 MiB to 64 MiB by realloc (+64 KiB or x1.5 steps),
// touching the new tail and checking the moved contents, then shrink by halves and are freed;
// rewards growing in place or remapping over copying.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kMiB = size_t{1} << 20;

// The word stored at the start of each page: depends on the block and page index, not addresses.
uint64_t PageWord(uint64_t block_seed, size_t page) { return block_seed ^ (page * 0x9e3779b97f4a7c15ull); }

void TouchPages(unsigned char* p, size_t from, size_t to, uint64_t block_seed) {
  for (size_t offset = from; offset < to; offset += kPage) {
    const uint64_t word = PageWord(block_seed, offset / kPage);
    std::memcpy(p + offset, &word, sizeof(word));
  }
}

// Checks sample pages (first, last, two between) below `size`; returns their digest.
uint64_t CheckPages(const unsigned char* p, size_t size, uint64_t block_seed) {
  const size_t pages = size / kPage;
  uint64_t digest = 0;
  for (size_t page : {size_t{0}, pages / 3, pages / 2, pages - 1}) {
    uint64_t word;
    std::memcpy(&word, p + page * kPage, sizeof(word));
    if (word != PageWord(block_seed, page)) {
      std::fprintf(stderr, "error: realloc lost page %zu of a %zu-byte block\n", page, size);
      std::exit(3);
    }
    digest = Mix(digest, word);
  }
  return digest;
}

unsigned char* Resize(unsigned char* p, size_t size) {
  void* q = std::realloc(p, size);
  if (q == nullptr) OutOfMemory(size);
  return static_cast<unsigned char*>(q);
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "realloc_large: grow blocks from 1 MiB to 64 MiB by realloc, shrink, free");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "threads, each doing its share"));
  const int64_t blocks = flags.Int("--blocks", 24, 4, "blocks grown and shrunk, summed over threads");
  const int64_t start_mib = flags.Int("--start-mib", 1, 1, "initial size in MiB");
  const int64_t limit_mib = flags.Int("--limit-mib", 64, 64, "size to grow to in MiB");
  flags.Finish();
  if (threads < 1 || blocks < threads || start_mib < 1 || limit_mib < start_mib) flags.Die("invalid parameters");

  const size_t start = static_cast<size_t>(start_mib) * kMiB;  // MiB multiples: page multiples too
  const size_t limit = static_cast<size_t>(limit_mib) * kMiB;
  std::vector<uint64_t> sums(threads);
  std::vector<uint64_t> ops(threads);
  RunThreads(threads, [&](int thread) {
    Rng rng(SeedFor(10, static_cast<uint64_t>(thread)));
    uint64_t sum = 0;
    uint64_t count = 0;
    for (int64_t b = 0; b < blocks / threads; ++b) {
      const uint64_t seed = rng.Next();
      size_t size = start;
      unsigned char* p = static_cast<unsigned char*>(CheckedMalloc(size));
      TouchPages(p, 0, size, seed);
      ++count;
      while (size < limit) {
        // Page multiples, so that every page of the block carries its word at its start.
        size_t next = rng.Percent(50) ? size + 64 * 1024 : (size + size / 2 + kPage - 1) / kPage * kPage;
        if (next > limit) next = limit;
        p = Resize(p, next);
        sum = Mix(sum, CheckPages(p, size, seed));
        TouchPages(p, size, next, seed);
        size = next;
        ++count;
      }
      while (size > start) {
        size_t next = (size / 2 + kPage - 1) / kPage * kPage;
        if (next < start) next = start;
        p = Resize(p, next);
        size = next;
        sum = Mix(sum, CheckPages(p, size, seed));
        ++count;
      }
      std::free(p);
      ++count;
    }
    sums[thread] = sum;
    ops[thread] = count;
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
