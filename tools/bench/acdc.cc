// acdc workload (after the ACDC benchmark): objects with configurable size and lifetime ranges
// live in per-round pools, are read every round and freed when they expire; a share of them is
// freed by the next thread instead.
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

struct Object {
  void* p;
  size_t size;
  uint64_t tag;
};

// Objects another thread passed to us for freeing; drained once per round.
struct Inbox {
  std::mutex mutex;
  std::vector<Object> objects;
};

// Draws sizes so that each power-of-two range between min and max is about equally likely, like
// ACDC: small objects are far more numerous than large ones without the large ones vanishing.
size_t PickSize(Rng& rng, size_t min_size, size_t max_size) {
  int low_bit = 63 - __builtin_clzll(min_size);
  int high_bit = 63 - __builtin_clzll(max_size);
  const int bit = static_cast<int>(rng.Range(static_cast<uint64_t>(low_bit), static_cast<uint64_t>(high_bit)));
  uint64_t low = uint64_t{1} << bit;
  uint64_t high = (low << 1) - 1;
  if (low < min_size) low = min_size;
  if (high > max_size) high = max_size;
  return rng.Range(low, high);
}

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "acdc: configurable size and lifetime distributions, objects accessed while alive");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "worker threads"));
  const int64_t rounds = flags.Int("--rounds", 200, 100, "rounds");
  const int64_t per_round = flags.Int("--objects", 20000, 10000, "objects allocated per round, summed over threads");
  const int64_t min_size = flags.Int("--min-size", 8, 8, "smallest object");
  const int64_t max_size = flags.Int("--max-size", 2048, 2048, "largest object");
  const int64_t min_life = flags.Int("--min-life", 1, 1, "shortest lifetime in rounds");
  const int64_t max_life = flags.Int("--max-life", 10, 10, "longest lifetime in rounds");
  const int64_t shared = flags.Int("--shared-percent", 10, 10, "objects freed by the next thread");
  flags.Finish();
  if (threads < 1 || rounds < 1 || per_round < threads || min_size < 1 || max_size < min_size || min_life < 1 ||
      max_life < min_life || shared < 0 || shared > 100) {
    flags.Die("invalid parameters");
  }

  const size_t low = static_cast<size_t>(min_size);
  const size_t high = static_cast<size_t>(max_size);
  std::vector<Inbox> inboxes(threads);
  std::vector<uint64_t> sums(threads);
  std::vector<uint64_t> ops(threads);
  RunThreads(threads, [&](int thread) {
    Rng rng(SeedFor(7, static_cast<uint64_t>(thread)));
    // expiring[r % (max_life + 1)] holds the objects that die at the end of round r.
    const uint64_t buckets = static_cast<uint64_t>(max_life) + 1;
    std::vector<std::vector<Object>> expiring(buckets);
    std::vector<Object> to_free;
    uint64_t sum = 0;
    uint64_t allocs = 0;
    auto release = [&](const Object& object) {
      // Sums commute: the order in which inbox objects arrive does not change the result.
      sum += ReadTag(object.p, object.size, object.tag);
      std::free(object.p);
    };
    Inbox& next_inbox = inboxes[(thread + 1) % threads];
    for (int64_t round = 0; round < rounds; ++round) {
      for (int64_t i = 0; i < per_round / threads; ++i) {
        Object object;
        object.size = PickSize(rng, low, high);
        object.tag = rng.Next();
        object.p = CheckedMalloc(object.size);
        WriteTag(object.p, object.size, object.tag);
        const uint64_t life = rng.Range(static_cast<uint64_t>(min_life), static_cast<uint64_t>(max_life));
        expiring[(static_cast<uint64_t>(round) + life) % buckets].push_back(object);
        ++allocs;
      }
      // Access pass: read every live object's head and tail.
      for (const std::vector<Object>& bucket : expiring) {
        for (const Object& object : bucket) sum += ReadTag(object.p, object.size, object.tag) & 0xff;
      }
      std::vector<Object>& dying = expiring[static_cast<uint64_t>(round) % buckets];
      std::vector<Object> passed;
      for (const Object& object : dying) {
        if (threads > 1 && rng.Percent(static_cast<uint64_t>(shared))) {
          passed.push_back(object);
        } else {
          release(object);
        }
      }
      dying.clear();
      if (!passed.empty()) {
        std::lock_guard<std::mutex> lock(next_inbox.mutex);
        next_inbox.objects.insert(next_inbox.objects.end(), passed.begin(), passed.end());
      }
      {
        std::lock_guard<std::mutex> lock(inboxes[thread].mutex);
        to_free.swap(inboxes[thread].objects);
      }
      for (const Object& object : to_free) release(object);
      to_free.clear();
    }
    for (std::vector<Object>& bucket : expiring) {
      for (const Object& object : bucket) release(object);
    }
    sums[thread] = sum;
    ops[thread] = 2 * allocs;
  });

  // Objects passed in the last round may still sit in an inbox.
  uint64_t checksum = 0;
  uint64_t total_ops = 0;
  for (int t = 0; t < threads; ++t) {
    for (const Object& object : inboxes[t].objects) {
      checksum += ReadTag(object.p, object.size, object.tag);
      std::free(object.p);
    }
    checksum += sums[t];
    total_ops += ops[t];
  }
  PrintResult(checksum, total_ops);
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
