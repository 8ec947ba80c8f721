// threadtest workload (after Hoard's): each thread allocates batches of equal-sized objects with
// operator new and frees each batch with sized operator delete; nothing crosses threads, so this
// measures thread-local fast paths and their scaling.
#include <cstdint>
#include <new>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "threadtest: threads allocate and free batches of equal-sized objects");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "worker threads"));
  const int64_t iterations = flags.Int("--iterations", 400, 100, "batches per thread");
  const int64_t objects = flags.Int("--objects", 100000, 100000, "objects per batch, summed over all threads");
  const int64_t size = flags.Int("--size", 8, 8, "object size in bytes");
  flags.Finish();
  if (threads < 1 || iterations < 0 || objects < threads || size < 1) flags.Die("invalid parameters");

  const size_t batch = static_cast<size_t>(objects / threads);
  const size_t object_size = static_cast<size_t>(size);
  std::vector<uint64_t> sums(threads);
  RunThreads(threads, [&](int thread) {
    std::vector<void*> slots(batch);
    uint64_t sum = 0;
    for (int64_t iteration = 0; iteration < iterations; ++iteration) {
      const uint64_t base = SeedFor(static_cast<uint64_t>(iteration), static_cast<uint64_t>(thread));
      for (size_t i = 0; i < batch; ++i) {
        slots[i] = ::operator new(object_size);
        WriteTag(slots[i], object_size, base + i);
      }
      for (size_t i = 0; i < batch; ++i) {
        sum += ReadTag(slots[i], object_size, base + i);
        ::operator delete(slots[i], object_size);
      }
    }
    sums[thread] = sum;
  });

  uint64_t checksum = 0;
  for (uint64_t sum : sums) checksum += sum;
  PrintResult(checksum, 2 * static_cast<uint64_t>(iterations) * batch * static_cast<uint64_t>(threads));
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
