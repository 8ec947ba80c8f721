// trace_replay workload: replays a text allocation trace (format in docs/benchmarks.md) through
// malloc/calloc/realloc/posix_memalign/free, each thread on its own ids; without a trace file it
// prints skipped=1 and succeeds.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/bench/bench_common.h"

namespace scalloc::bench {
namespace {

struct Op {
  char kind;  // 'm', 'f', 'r', 'c' or 'a'
  uint32_t id;
  uint64_t arg;   // size ('m', 'r', 'a') or element count ('c')
  uint64_t arg2;  // element size ('c') or alignment ('a')
};

struct Live {
  void* p = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
  bool live = false;
};

// Ids index a table, so they must be dense; the bound stops a typo from asking for gigabytes.
constexpr uint64_t kMaxId = uint64_t{1} << 26;
// Requests beyond this are treated as trace errors rather than attempted.
constexpr uint64_t kMaxRequest = uint64_t{1} << 40;

std::vector<Op> ParseTrace(FILE* file, const std::string& path, uint32_t* max_id) {
  std::vector<Op> ops;
  char line[512];
  uint64_t line_number = 0;
  *max_id = 0;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    ++line_number;
    char* cursor = line;
    while (*cursor == ' ' || *cursor == '\t') ++cursor;
    if (*cursor == '#' || *cursor == '\n' || *cursor == '\r' || *cursor == '\0') continue;
    Op op{};
    op.kind = *cursor++;
    int wanted = 0;
    switch (op.kind) {
      case 'f':
        wanted = 1;
        break;
      case 'm':
      case 'r':
        wanted = 2;
        break;
      case 'c':
      case 'a':
        wanted = 3;
        break;
      default:
        wanted = -1;
        break;
    }
    uint64_t fields[3] = {0, 0, 0};
    int count = 0;
    bool bad = wanted < 0;
    while (!bad) {
      while (*cursor == ' ' || *cursor == '\t') ++cursor;
      if (*cursor == '\n' || *cursor == '\r' || *cursor == '\0' || *cursor == '#') break;
      char* end = nullptr;
      const unsigned long long value = std::strtoull(cursor, &end, 10);
      bad = end == cursor || count == 3;
      if (!bad) fields[count++] = value;
      cursor = end;
    }
    if (bad || count != wanted || fields[0] >= kMaxId) {
      std::fprintf(stderr, "%s:%" PRIu64 ": bad trace line: %s", path.c_str(), line_number, line);
      std::exit(2);
    }
    op.id = static_cast<uint32_t>(fields[0]);
    if (op.kind == 'a') {
      op.arg2 = fields[1];  // `a <id> <align> <size>`
      op.arg = fields[2];
      if ((op.arg2 & (op.arg2 - 1)) != 0 || op.arg2 == 0) {
        std::fprintf(stderr, "%s:%" PRIu64 ": alignment must be a power of two\n", path.c_str(), line_number);
        std::exit(2);
      }
    } else {
      op.arg = fields[1];
      op.arg2 = fields[2];
    }
    uint64_t product = 0;
    if (op.arg > kMaxRequest || op.arg2 > kMaxRequest ||
        (op.kind == 'c' && (__builtin_mul_overflow(op.arg, op.arg2, &product) || product > kMaxRequest))) {
      std::fprintf(stderr, "%s:%" PRIu64 ": request too large\n", path.c_str(), line_number);
      std::exit(2);
    }
    if (op.id > *max_id) *max_id = op.id;
    ops.push_back(op);
  }
  return ops;
}

class Replayer {
 public:
  Replayer(uint32_t max_id, uint64_t seed) : table_(static_cast<size_t>(max_id) + 1), rng_(seed) {}

  void Run(const std::vector<Op>& ops) {
    for (const Op& op : ops) Execute(op);
    for (Live& slot : table_) Release(slot);
  }

  uint64_t sum() const { return sum_; }
  uint64_t ignored() const { return ignored_; }

 private:
  void Execute(const Op& op) {
    Live& slot = table_[op.id];
    switch (op.kind) {
      case 'f':
        if (!slot.live) ++ignored_;
        Release(slot);
        return;
      case 'm':
        Release(slot);  // an id that is still live is freed first
        Place(slot, std::malloc(op.arg), op.arg);
        return;
      case 'c': {
        Release(slot);
        const size_t bytes = op.arg * op.arg2;
        void* p = std::calloc(op.arg, op.arg2);
        if (p != nullptr) {
          // calloc must hand out zeroes; check both ends before the tag overwrites them.
          const unsigned char* data = static_cast<const unsigned char*>(p);
          for (size_t i = 0; i < bytes && i < 64; ++i) {
            if (data[i] != 0 || data[bytes - 1 - i] != 0) {
              std::fprintf(stderr, "error: calloc(%" PRIu64 ", %" PRIu64 ") returned dirty memory\n", op.arg, op.arg2);
              std::exit(3);
            }
          }
        }
        Place(slot, p, bytes);
        return;
      }
      case 'a': {
        Release(slot);
        const size_t alignment = op.arg2 < sizeof(void*) ? sizeof(void*) : op.arg2;
        void* p = nullptr;
        if (posix_memalign(&p, alignment, op.arg) != 0) p = nullptr;
        if (p != nullptr && reinterpret_cast<uintptr_t>(p) % alignment != 0) {
          std::fprintf(stderr, "error: posix_memalign(%zu) returned %p\n", alignment, p);
          std::exit(3);
        }
        Place(slot, p, op.arg);
        return;
      }
      case 'r': {
        if (op.arg == 0) {
          // realloc(p, 0) differs between allocators (free vs minimal block); the trace means free.
          Release(slot);
          return;
        }
        if (!slot.live) {
          Place(slot, std::malloc(op.arg), op.arg);
          return;
        }
        ReadTag(slot.p, slot.size, slot.tag);
        void* p = std::realloc(slot.p, op.arg);
        if (p == nullptr) OutOfMemory(op.arg);
        // The head must have moved along; the tail tag is rewritten for the new size.
        const size_t kept = slot.size < op.arg ? slot.size : op.arg;
        if (kept >= sizeof(uint64_t)) ReadTag(p, sizeof(uint64_t), slot.tag);
        slot.p = p;
        slot.size = op.arg;
        WriteTag(slot.p, slot.size, slot.tag);
        return;
      }
    }
  }

  void Place(Live& slot, void* p, size_t size) {
    if (p == nullptr && size != 0) OutOfMemory(size);
    slot.p = p;
    slot.size = size;
    slot.tag = rng_.Next();
    slot.live = true;
    if (p != nullptr) WriteTag(p, size, slot.tag);
  }

  void Release(Live& slot) {
    if (!slot.live) return;
    if (slot.p != nullptr) sum_ = Mix(sum_, ReadTag(slot.p, slot.size, slot.tag) ^ slot.size);
    std::free(slot.p);
    slot = Live();
  }

  std::vector<Live> table_;
  Rng rng_;
  uint64_t sum_ = 0;
  uint64_t ignored_ = 0;
};

int Main(int argc, char** argv) {
  Flags flags(argc, argv, "trace_replay: replay an allocation trace file");
  const int threads = static_cast<int>(flags.Int("--threads", 1, 1, "threads, each replaying the whole trace"));
  const std::string path = flags.String("--trace", "", "trace file (text format, see docs/benchmarks.md)");
  const int64_t repeat = flags.Int("--repeat", 10, 3, "replays per thread");
  flags.Finish();
  if (threads < 1 || repeat < 1) flags.Die("invalid parameters");

  FILE* file = path.empty() ? nullptr : std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    std::fprintf(stderr, "trace_replay: no trace file%s%s, skipping\n", path.empty() ? "" : " at ", path.c_str());
    std::printf("skipped=1\n");
    PrintResult(0, 0);
    return 0;
  }
  uint32_t max_id = 0;
  const std::vector<Op> ops = ParseTrace(file, path, &max_id);
  std::fclose(file);

  std::vector<uint64_t> sums(threads);
  std::vector<uint64_t> ignored(threads);
  RunThreads(threads, [&](int thread) {
    uint64_t sum = 0;
    for (int64_t r = 0; r < repeat; ++r) {
      Replayer replayer(max_id, SeedFor(11, static_cast<uint64_t>(thread), static_cast<uint64_t>(r)));
      replayer.Run(ops);
      sum = Mix(sum, replayer.sum());
      ignored[thread] += replayer.ignored();
    }
    sums[thread] = sum;
  });

  uint64_t checksum = 0;
  uint64_t ignored_total = 0;
  for (int t = 0; t < threads; ++t) {
    checksum += sums[t];
    ignored_total += ignored[t];
  }
  std::printf("trace_ops=%zu\nignored_frees=%" PRIu64 "\n", ops.size(), ignored_total);
  PrintResult(checksum, static_cast<uint64_t>(ops.size()) * static_cast<uint64_t>(repeat * threads));
  return 0;
}

}  // namespace
}  // namespace scalloc::bench

int main(int argc, char** argv) { return scalloc::bench::Main(argc, argv); }
