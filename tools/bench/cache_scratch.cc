// cache_scratch workload (after Hoard's): workers free small objects that the main thread allocated
// back to back, then allocate, write and free their own; an allocator that hands the freed
// neighbours back causes passive false sharing.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tools/bench/bench_common.h"
#include "tools/bench/false_sharing.h"

namespace scalloc::bench {
namespace {

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "cache_scratch: passive false sharing through objects freed by other threads");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "worker threads"));
  const int64_t objects = flags.Int("--objects", 200000, 40000, "objects, summed over threads, one after the other");
  const int64_t writes = flags.Int("--writes", 1000, 1000, "write passes over each object");
  const int64_t size = flags.Int("--size", 8, 8, "object size in bytes");
  flags.Finish();
  if (threads < 1 || objects < threads || writes < 0 || size < 1) flags.Die("invalid parameters");

  const size_t object_size = static_cast<size_t>(size);
  std::vector<void*> handed_out(threads);
  for (void*& object : handed_out) {
    object = CheckedMalloc(object_size);
    std::memset(object, 0, object_size);
  }
  std::vector<uint64_t> sums(threads);
  RunThreads(threads, [&](int thread) {
    // Work on the main thread's object first, then free it from here.
    uint64_t sum = Hammer(handed_out[thread], object_size, writes);
    std::free(handed_out[thread]);
    for (int64_t i = 0; i < objects / threads; ++i) {
      void* object = CheckedMalloc(object_size);
      std::memset(object, thread + 1, object_size);
      sum = Mix(sum, Hammer(object, object_size, writes));
      std::free(object);
    }
    sums[thread] = sum;
  });

  uint64_t checksum = 0;
  for (uint64_t sum : sums) checksum += sum;
  PrintResult(checksum, 2 * static_cast<uint64_t>((objects / threads + 1) * threads));
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
