// malloc_loop workload: the bare cost of malloc/free, as back-to-back pairs or with --live K blocks
// kept in a ring (so the block just freed is not the next one handed out), per size; also the
// program `tools/scalloc bench callgrind` counts instructions of.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

constexpr size_t kSizes[] = {16, 64, 256, 1024, 4096, 32768};

uint64_t PairLoop(size_t size, int64_t iterations) {
  uint64_t sum = 0;
  for (int64_t i = 0; i < iterations; ++i) {
    unsigned char* p = static_cast<unsigned char*>(CheckedMalloc(size));
    p[0] = static_cast<unsigned char>(i);
    Escape(p);
    sum += p[0];
    std::free(p);
  }
  return sum;
}

uint64_t RingLoop(size_t size, int64_t iterations, size_t live) {
  std::vector<unsigned char*> ring(live);
  for (unsigned char*& p : ring) {
    p = static_cast<unsigned char*>(CheckedMalloc(size));
    p[0] = 0;
  }
  uint64_t sum = 0;
  size_t next = 0;
  for (int64_t i = 0; i < iterations; ++i) {
    sum += ring[next][0];
    std::free(ring[next]);
    unsigned char* p = static_cast<unsigned char*>(CheckedMalloc(size));
    p[0] = static_cast<unsigned char>(i);
    Escape(p);
    ring[next] = p;
    next = next + 1 == live ? 0 : next + 1;
  }
  for (unsigned char* p : ring) {
    sum += p[0];
    std::free(p);
  }
  return sum;
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "malloc_loop: malloc/free pairs per size, optionally with a ring of live blocks");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "threads, each running the full loop"));
  const int64_t size = flags.Int("--size", 0, 0, "block size; 0 runs 16, 64, 256, 1024, 4096 and 32768 in turn");
  const int64_t iterations = flags.Int("--iters", 10000000, 2000000, "pairs per size and thread");
  const int64_t live = flags.Int("--live", 0, 0, "blocks kept live in a ring (0: back-to-back pairs)");
  flags.Finish();
  if (threads < 1 || size < 0 || iterations < 0 || live < 0) flags.Die("invalid parameters");

  std::vector<size_t> sizes;
  if (size > 0) {
    sizes.push_back(static_cast<size_t>(size));
  } else {
    sizes.assign(std::begin(kSizes), std::end(kSizes));
  }
  std::vector<uint64_t> sums(threads);
  RunThreads(threads, [&](int thread) {
    uint64_t sum = 0;
    for (size_t s : sizes) {
      sum = Mix(sum, live > 0 ? RingLoop(s, iterations, static_cast<size_t>(live)) : PairLoop(s, iterations));
    }
    sums[thread] = sum;
  });

  uint64_t checksum = 0;
  for (uint64_t sum : sums) checksum += sum;
  PrintResult(checksum, 2 * static_cast<uint64_t>(iterations) * sizes.size() * static_cast<uint64_t>(threads));
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
