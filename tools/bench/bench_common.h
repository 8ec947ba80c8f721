// Shared plumbing of the benchmark workloads: flags, a deterministic random generator, block tags,
// result lines for the runner, and the barrier that keeps the compiler from deleting allocations.
#ifndef SCALLOC_TOOLS_BENCH_BENCH_COMMON_H_
#define SCALLOC_TOOLS_BENCH_BENCH_COMMON_H_

#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace scalloc::bench {

// Parses `--name value`, `--name=value` and bare boolean `--name`. Every workload asks for its
// flags with their defaults and then calls Finish(), which rejects unknown flags and answers --help
// with the flags it was asked about, so the usage text can never drift from the code.
class Flags {
 public:
  Flags(int argc, char** argv, const char* summary) : summary_(summary) {
    program_ = argc > 0 ? argv[0] : "bench";
    for (int i = 1; i < argc; ++i) args_.push_back(argv[i]);
    Describe("--help", "", "", "this text");
    quick_ = Bool("--quick", "smaller problem sizes (the suite's quick mode)");
  }

  bool quick() const { return quick_; }

  bool Bool(const char* name, const char* help) {
    Describe(name, "", "", help);
    for (size_t i = 0; i < args_.size(); ++i) {
      if (args_[i] == name) {
        used_.push_back(i);
        return true;
      }
    }
    return false;
  }

  // `full` is the default of the normal suite, `quick` the default under --quick.
  int64_t Int(const char* name, int64_t full, int64_t quick, const char* help) {
    const int64_t fallback = quick_ ? quick : full;
    Describe(name, "N", std::to_string(full) + (full == quick ? "" : " (quick: " + std::to_string(quick) + ")"), help);
    const std::optional<std::string> text = Find(name);
    if (!text) return fallback;
    char* end = nullptr;
    const long long value = std::strtoll(text->c_str(), &end, 0);
    if (end == text->c_str() || *end != '\0') {
      Die("flag " + std::string(name) + " wants an integer, got '" + *text + "'");
    }
    return value;
  }

  std::string String(const char* name, const char* fallback, const char* help) {
    Describe(name, "S", fallback[0] == '\0' ? "\"\"" : fallback, help);
    return Find(name).value_or(fallback);
  }

  // Call after all flags were read.
  void Finish() {
    for (size_t i = 0; i < args_.size(); ++i) {
      if (args_[i] == "--help" || args_[i] == "-h") {
        PrintUsage(stdout);
        std::exit(0);
      }
    }
    for (size_t i = 0; i < args_.size(); ++i) {
      if (std::find(used_.begin(), used_.end(), i) == used_.end()) {
        Die("unknown argument '" + args_[i] + "' (see --help)");
      }
    }
  }

  [[noreturn]] void Die(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    std::exit(2);
  }

 private:
  std::optional<std::string> Find(const char* name) {
    const size_t length = std::strlen(name);
    for (size_t i = 0; i < args_.size(); ++i) {
      const std::string& arg = args_[i];
      if (arg == name) {
        if (i + 1 >= args_.size()) Die("flag " + arg + " needs a value");
        used_.push_back(i);
        used_.push_back(i + 1);
        return args_[i + 1];
      }
      if (arg.size() > length && arg.compare(0, length, name) == 0 && arg[length] == '=') {
        used_.push_back(i);
        return arg.substr(length + 1);
      }
    }
    return std::nullopt;
  }

  void Describe(const char* name, const char* metavar, const std::string& fallback, const char* help) {
    std::string line = std::string("  ") + name;
    if (metavar[0] != '\0') line += std::string(" ") + metavar;
    while (line.size() < 22) line += ' ';
    line += help;
    if (!fallback.empty()) line += " [default " + fallback + "]";
    usage_.push_back(line);
  }

  void PrintUsage(FILE* out) const {
    std::fprintf(out, "usage: %s [flags]\n%s\n\nflags:\n", program_.c_str(), summary_);
    for (const std::string& line : usage_) std::fprintf(out, "%s\n", line.c_str());
  }

  std::string program_;
  const char* summary_;
  std::vector<std::string> args_;
  std::vector<size_t> used_;
  std::vector<std::string> usage_;
  bool quick_ = false;
};

// xoshiro256** seeded through splitmix64: fast, and the same sequence on every allocator, which is
// what keeps checksums comparable.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [low, high] (inclusive); the slight modulo bias does not matter here.
  uint64_t Range(uint64_t low, uint64_t high) { return low + Next() % (high - low + 1); }

  // True with probability percent/100.
  bool Percent(uint64_t percent) { return Next() % 100 < percent; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// Seed for (workload, thread, round) so that work assignment never depends on scheduling.
inline uint64_t SeedFor(uint64_t base, uint64_t a, uint64_t b = 0) {
  return base * 0x100000001b3ull ^ (a + 1) * 0x9e3779b97f4a7c15ull ^ (b + 1) * 0xc2b2ae3d27d4eb4full;
}

// Order-sensitive mixing for values folded by one thread; thread results are added, which does not
// depend on which thread finished first.
inline uint64_t Mix(uint64_t hash, uint64_t value) {
  hash ^= value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
  return hash;
}

// Hides a pointer from the optimizer: a malloc whose result is never used (or a malloc/free pair)
// may otherwise be deleted outright by clang.
inline void Escape(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// Every block carries a tag in its first (and, when large enough, last) eight bytes; checking it on
// free catches overlapping blocks and feeds the checksum.
inline void WriteTag(void* p, size_t size, uint64_t tag) {
  if (size >= sizeof(uint64_t)) {
    std::memcpy(p, &tag, sizeof(tag));
    if (size >= 2 * sizeof(uint64_t)) std::memcpy(static_cast<char*>(p) + size - sizeof(tag), &tag, sizeof(tag));
  } else if (size > 0) {
    std::memcpy(p, &tag, size);
  }
  Escape(p);
}

// Returns the tag, or exits when the block was overwritten by someone else.
inline uint64_t ReadTag(const void* p, size_t size, uint64_t expected) {
  uint64_t tag = 0;
  bool ok = true;
  if (size >= sizeof(uint64_t)) {
    std::memcpy(&tag, p, sizeof(tag));
    if (size >= 2 * sizeof(uint64_t)) {
      uint64_t tail = 0;
      std::memcpy(&tail, static_cast<const char*>(p) + size - sizeof(tail), sizeof(tail));
      ok = tail == expected;
    }
  } else if (size > 0) {
    std::memcpy(&tag, p, size);
    expected &= (uint64_t{1} << (8 * size)) - 1;
  }
  if (!ok || tag != expected) {
    std::fprintf(stderr, "error: block %p of %zu bytes lost its contents (tag %" PRIx64 ", want %" PRIx64 ")\n", p,
                 size, tag, expected);
    std::exit(3);
  }
  return tag;
}

[[noreturn]] inline void OutOfMemory(size_t size) {
  std::fprintf(stderr, "error: allocation of %zu bytes failed\n", size);
  std::exit(4);
}

inline void* CheckedMalloc(size_t size) {
  void* p = std::malloc(size);
  if (p == nullptr) OutOfMemory(size);
  return p;
}

// Reads a "VmHWM:"-style field of /proc/self/status in KiB (0 when unavailable).
inline uint64_t ProcStatusKib(const char* field) {
  FILE* file = std::fopen("/proc/self/status", "r");
  if (file == nullptr) return 0;
  char line[256];
  uint64_t value = 0;
  const size_t length = std::strlen(field);
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
      value = std::strtoull(line + length + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(file);
  return value;
}

// Runs body(thread_index) on `threads` threads and waits for all of them.
template <class Body>
void RunThreads(int threads, Body body) {
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int i = 0; i < threads; ++i) pool.emplace_back([&body, i] { body(i); });
  for (std::thread& thread : pool) thread.join();
}

// The result lines the runner parses. The peak RSS comes from the kernel's high-water mark of this
// process image: a runner's wait4() ru_maxrss also counts the runner's own pages at fork time.
inline void PrintResult(uint64_t checksum, uint64_t ops) {
  std::printf("checksum=%" PRIu64 "\n", checksum);
  std::printf("ops=%" PRIu64 "\n", ops);
  std::printf("peak_rss_kib=%" PRIu64 "\n", ProcStatusKib("VmHWM"));
  std::fflush(stdout);
}

}  // namespace scalloc::bench

#endif  // SCALLOC_TOOLS_BENCH_BENCH_COMMON_H_
