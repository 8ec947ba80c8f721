// Soak: threads that come and go run a random churn through the process malloc (every size class, large
// objects, remote frees through shared slots, reallocs) and check every block's contents before freeing it;
// resident memory must stay under a stated bound. SCALLOC_SOAK_SECONDS sets the duration (default 15 s; the
// long form, `tools/scalloc soak`, runs 10 minutes).
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace {

constexpr size_t kSlots = 4096;
constexpr int kThreads = 4;
// Live data is at most kSlots blocks of the size mix below (~40 MiB expected); RSS must stay under this.
constexpr size_t kRssBoundBytes = size_t{384} << 20;

struct Block {
  unsigned char* data;
  size_t size;
  uint32_t seed;
};

std::atomic<Block*> g_slots[kSlots];

size_t ResidentBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages = 0, resident = 0;
  if (fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
  fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t RandomSize(std::mt19937& rng) {
  uint32_t r = rng() % 1000;
  if (r < 700) return 1 + rng() % 256;
  if (r < 950) return 257 + rng() % 8000;
  if (r < 995) return 8192 + rng() % (1 << 20);
  return (size_t{1} << 20) + rng() % (size_t{3} << 20);
}

// Pattern: the first 64 bytes and the last 64 bytes (cheap, and catches overlapping blocks and stray writes).
size_t HeadBytes(size_t size) { return size < 64 ? size : 64; }
size_t TailStart(size_t size) { return size > 128 ? size - 64 : HeadBytes(size); }

void Fill(Block* b) {
  for (size_t i = 0; i < HeadBytes(b->size); ++i) b->data[i] = static_cast<unsigned char>(b->seed + i);
  for (size_t i = TailStart(b->size); i < b->size; ++i) b->data[i] = static_cast<unsigned char>(b->seed ^ i);
}

bool HeadIntact(const unsigned char* data, uint32_t seed, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i)
    if (data[i] != static_cast<unsigned char>(seed + i)) return false;
  return true;
}

bool Check(const Block* b) {
  if (!HeadIntact(b->data, b->seed, HeadBytes(b->size))) return false;
  for (size_t i = TailStart(b->size); i < b->size; ++i)
    if (b->data[i] != static_cast<unsigned char>(b->seed ^ i)) return false;
  return true;
}

Block* NewBlock(std::mt19937& rng) {
  auto* b = static_cast<Block*>(malloc(sizeof(Block)));
  b->size = RandomSize(rng);
  b->seed = rng();
  b->data = static_cast<unsigned char*>(rng() % 8 == 0 ? calloc(1, b->size) : malloc(b->size));
  if (b->data == nullptr) abort();
  Fill(b);
  return b;
}

void FreeBlock(Block* b, std::atomic<int>* errors) {
  if (!Check(b)) ++*errors;
  free(b->data);
  free(b);
}

TEST(SoakTest, RandomChurnAcrossThreadsKeepsContentsAndBoundedMemory) {
  const char* env = getenv("SCALLOC_SOAK_SECONDS");
  const double seconds = env != nullptr ? atof(env) : 15.0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::atomic<int> errors{0};
  std::atomic<uint64_t> ops{0};
  size_t max_rss = 0;
  uint32_t generation = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    // A generation of threads lives for a short while; then they exit and new ones take over their blocks.
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, seed = generation * kThreads + t] {
        std::mt19937 rng(seed);
        for (int i = 0; i < 20000; ++i) {
          size_t slot = rng() % kSlots;
          uint32_t op = rng() % 10;
          if (op < 7) {
            Block* old = g_slots[slot].exchange(NewBlock(rng));
            if (old != nullptr) FreeBlock(old, &errors);  // often a remote free
          } else if (op < 9) {
            Block* b = g_slots[slot].exchange(nullptr);
            if (b == nullptr) continue;
            if (!Check(b)) ++errors;
            size_t new_size = RandomSize(rng);
            auto* grown = static_cast<unsigned char*>(realloc(b->data, new_size));
            if (grown == nullptr) abort();
            size_t keep = b->size < new_size ? b->size : new_size;
            // The kept prefix must have survived the move.
            if (!HeadIntact(grown, b->seed, HeadBytes(keep))) ++errors;
            b->data = grown;
            b->size = new_size;
            Fill(b);
            Block* old = g_slots[slot].exchange(b);
            if (old != nullptr) FreeBlock(old, &errors);
          } else {
            Block* b = g_slots[slot].exchange(nullptr);
            if (b != nullptr) FreeBlock(b, &errors);
          }
          ops.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (auto& th : threads) th.join();
    ++generation;
    size_t rss = ResidentBytes();
    if (rss > max_rss) max_rss = rss;
    ASSERT_LT(rss, kRssBoundBytes) << "generation " << generation;
    ASSERT_EQ(errors.load(), 0);
  }
  for (auto& slot : g_slots) {
    Block* b = slot.exchange(nullptr);
    if (b != nullptr) FreeBlock(b, &errors);
  }
  EXPECT_EQ(errors.load(), 0);
  malloc_trim(0);
  printf("soak: %.0f s, %u thread generations, %llu operations, max RSS %zu MiB, RSS after trim %zu MiB\n", seconds,
         generation * kThreads, static_cast<unsigned long long>(ops.load()), max_rss >> 20, ResidentBytes() >> 20);
}

}  // namespace
