// larson workload (after Larson & Krishnan): threads replace random slots of their arrays with new
// blocks; every round the arrays move to newly started threads, so most blocks are freed by a
// thread that did not allocate them, often after it exited.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

struct Slot {
  void* block = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};

// One array of slots and the checksum of the blocks that left it; touched by one thread at a time.
struct SlotArray {
  std::vector<Slot> slots;
  uint64_t sum = 0;
};

void Fill(Slot& slot, Rng& rng, size_t min_size, size_t max_size) {
  slot.size = rng.Range(min_size, max_size);
  slot.tag = rng.Next();
  slot.block = CheckedMalloc(slot.size);
  WriteTag(slot.block, slot.size, slot.tag);
}

uint64_t Release(Slot& slot) {
  const uint64_t tag = ReadTag(slot.block, slot.size, slot.tag);
  std::free(slot.block);
  slot.block = nullptr;
  return tag ^ slot.size;
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "larson: slot replacement churn with blocks handed to new threads every round");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "worker threads per round"));
  const int64_t slots = flags.Int("--slots", 1000, 1000, "slots per thread");
  const int64_t min_size = flags.Int("--min-size", 8, 8, "smallest block");
  const int64_t max_size = flags.Int("--max-size", 1000, 1000, "largest block");
  const int64_t rounds = flags.Int("--rounds", 40, 20, "rounds (each on new threads)");
  const int64_t total_ops = flags.Int("--ops", 40000000, 8000000, "replacements, summed over threads and rounds");
  flags.Finish();
  if (threads < 1 || slots < 1 || min_size < 1 || max_size < min_size || rounds < 1 || total_ops < 0) {
    flags.Die("invalid parameters");
  }

  const size_t low = static_cast<size_t>(min_size);
  const size_t high = static_cast<size_t>(max_size);
  const int64_t per_round = total_ops / rounds / threads;
  std::vector<SlotArray> arrays(threads);
  // The initial blocks come from the main thread, as in the original.
  for (int a = 0; a < threads; ++a) {
    Rng rng(SeedFor(1, static_cast<uint64_t>(a)));
    arrays[a].slots.resize(static_cast<size_t>(slots));
    for (Slot& slot : arrays[a].slots) Fill(slot, rng, low, high);
  }

  for (int64_t round = 0; round < rounds; ++round) {
    RunThreads(threads, [&](int thread) {
      SlotArray& array = arrays[(thread + round) % threads];
      Rng rng(SeedFor(2, static_cast<uint64_t>(thread), static_cast<uint64_t>(round)));
      uint64_t sum = array.sum;
      for (int64_t op = 0; op < per_round; ++op) {
        Slot& slot = array.slots[rng.Next() % array.slots.size()];
        sum = Mix(sum, Release(slot));
        Fill(slot, rng, low, high);
      }
      array.sum = sum;
    });
  }

  uint64_t checksum = 0;
  for (SlotArray& array : arrays) {
    for (Slot& slot : array.slots) array.sum = Mix(array.sum, Release(slot));
    checksum += array.sum;
  }
  const uint64_t replacements = static_cast<uint64_t>(per_round * rounds * threads);
  PrintResult(checksum, 2 * (replacements + static_cast<uint64_t>(slots * threads)));
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
