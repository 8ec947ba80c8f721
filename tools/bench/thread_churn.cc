// thread_churn workload (the pattern of mimalloc's stress test): rounds of short-lived threads allocate a size mix
// that is mostly small with rare big and very big blocks, free some of their blocks at random, swap others through
// a shared array whose blocks later threads free (also in later rounds), and free the rest when they exit. It
// exercises thread start and exit, blocks freed by threads that did not allocate them, and memory going back and
// forth between size classes and large objects as the threads come and go.
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

// A block starts with its size and tag and ends with the tag again, so whichever thread frees it can check it.
constexpr size_t kHeaderBytes = 2 * sizeof(uint64_t);

// 16..256 bytes (a power of two); 2% of the blocks are 100x that, of those one in ten 1000x, and of those one in
// fifty 10000x (up to 2.5 MiB). The same number of draws whatever the outcome, so the sequence of sizes never
// depends on anything but the seed.
size_t DrawSize(Rng& rng) {
  const uint64_t bits = rng.Next();
  size_t size = size_t{16} << (bits % 5);
  if ((bits >> 8) % 100 < 2) {
    const uint64_t scale = (bits >> 16) % 10 == 0 ? ((bits >> 24) % 50 == 0 ? 10000 : 1000) : 100;
    size *= scale;
  }
  return size;
}

void* Allocate(size_t size, uint64_t tag) {
  auto* block = static_cast<unsigned char*>(CheckedMalloc(size));
  const uint64_t header[2] = {size, tag};
  std::memcpy(block, header, sizeof(header));
  if (size >= kHeaderBytes + sizeof(tag)) std::memcpy(block + size - sizeof(tag), &tag, sizeof(tag));
  Escape(block);
  return block;
}

// Checks the block's size and tag (exit status 3 when another block overwrote them) and frees it.
void Release(void* pointer) {
  auto* block = static_cast<unsigned char*>(pointer);
  uint64_t header[2];
  std::memcpy(header, block, sizeof(header));
  const size_t size = static_cast<size_t>(header[0]);
  uint64_t tail = header[1];
  if (size >= kHeaderBytes + sizeof(tail)) std::memcpy(&tail, block + size - sizeof(tail), sizeof(tail));
  if (size < kHeaderBytes || size > (size_t{64} << 20) || tail != header[1]) {
    std::fprintf(stderr, "error: block %p lost its header or tail (size %zu)\n", pointer, size);
    std::exit(3);
  }
  std::free(block);
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv,
              "thread_churn: rounds of short-lived threads with a size mix, random frees and blocks swapped "
              "between threads");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "threads per round"));
  const int64_t rounds = flags.Int("--rounds", 50, 20, "rounds, each on new threads");
  const int64_t allocations = flags.Int("--allocations", 200000, 100000, "blocks each thread allocates per round");
  const int64_t transfer_slots = flags.Int("--transfer-slots", 1000, 1000, "slots of the shared swap array");
  flags.Finish();
  if (threads < 1 || rounds < 1 || allocations < 1 || transfer_slots < 1) flags.Die("invalid parameters");

  std::vector<std::atomic<void*>> transfer(static_cast<size_t>(transfer_slots));
  std::atomic<uint64_t> checksum{0};
  std::atomic<uint64_t> allocated{0};
  std::atomic<uint64_t> freed{0};

  for (int64_t round = 0; round < rounds; ++round) {
    RunThreads(threads, [&](int thread) {
      Rng rng(SeedFor(10, static_cast<uint64_t>(thread), static_cast<uint64_t>(round)));
      std::vector<void*> live;
      uint64_t digest = 0;
      uint64_t frees = 0;
      for (int64_t i = 0; i < allocations; ++i) {
        const size_t size = DrawSize(rng);
        const uint64_t tag = rng.Next();
        live.push_back(Allocate(size, tag));
        digest = Mix(digest, tag ^ size);
        // Three draws every step, used or not (see DrawSize).
        const uint64_t free_draw = rng.Next();
        const uint64_t swap_draw = rng.Next();
        const uint64_t slot_draw = rng.Next();
        if (free_draw % 100 < 60) {  // free a random live block
          const size_t index = static_cast<size_t>((free_draw >> 8) % live.size());
          Release(live[index]);
          ++frees;
          live[index] = live.back();
          live.pop_back();
        }
        if (swap_draw % 100 < 20 && !live.empty()) {  // swap one with the shared array
          const size_t index = static_cast<size_t>((swap_draw >> 8) % live.size());
          void* received = transfer[slot_draw % transfer.size()].exchange(live[index], std::memory_order_acq_rel);
          if (received != nullptr) {
            live[index] = received;
          } else {
            live[index] = live.back();
            live.pop_back();
          }
        }
      }
      for (void* block : live) Release(block);
      frees += live.size();
      checksum.fetch_add(digest, std::memory_order_relaxed);
      allocated.fetch_add(static_cast<uint64_t>(allocations), std::memory_order_relaxed);
      freed.fetch_add(frees, std::memory_order_relaxed);
    });
  }
  uint64_t left = 0;
  for (std::atomic<void*>& slot : transfer) {
    if (void* block = slot.exchange(nullptr)) {
      Release(block);
      ++left;
    }
  }
  if (freed.load() + left != allocated.load()) {
    std::fprintf(stderr, "error: %" PRIu64 " blocks allocated, %" PRIu64 " freed\n", allocated.load(),
                 freed.load() + left);
    return 3;
  }
  PrintResult(checksum.load(), 2 * allocated.load());
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
