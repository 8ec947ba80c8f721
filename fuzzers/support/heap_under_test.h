// HeapUnderTest: one fresh Allocator<Policy> instance as the trace runner sees it, behind a small virtual interface
// so one runner drives one policy or both side by side. Also holds the per-heap bookkeeping of a trace: the
// pointer in each slot, the last freed pointer of each slot, and the ordered set of live blocks.
#ifndef SCALLOC_FUZZERS_SUPPORT_HEAP_UNDER_TEST_H_
#define SCALLOC_FUZZERS_SUPPORT_HEAP_UNDER_TEST_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "fuzzers/support/fuzz_check.h"
#include "fuzzers/support/interval_set.h"
#include "fuzzers/support/op_stream.h"
#include "fuzzers/support/stderr_capture.h"
#include "src/core/allocator.h"
#include "src/core/options.h"
#include "src/core/stats.h"

namespace scalloc::fuzzing {

// Small arena: a trace touches a handful of spans, and reserving (and under ASan, unmapping) the default 1 TiB
// for every input would only cost time.
inline constexpr int64_t kFuzzArenaGib = 16;

// The options a trace's configuration byte selects for a heap.
inline internal::Options OptionsForTrace(const TraceConfig& config, bool hardened) {
  internal::Options options;
  options.arena_gib = kFuzzArenaGib;
  if (config.reuse_threshold >= 0) options.reuse_threshold = config.reuse_threshold;
  if (config.no_span_cache) options.span_cache_mib = 0;
  if (config.no_large_cache) options.large_cache_mib = 0;
  if (hardened && config.zero_on_free) options.zero_on_free = 1;
  return options;
}

// The same options as SCALLOC_OPTIONS text, spelt in the ways the parser accepts (either separator, empty
// entries, upper case, a bare name meaning 1, negative values) plus verbose=1, so parsing it must give exactly
// the options OptionsForTrace sets (and verbose). Malformed entries parsed on top must each give one warning line
// and change nothing. Returns the parsed options.
inline internal::Options ParsedOptionsForTrace(const TraceConfig& config, bool hardened) {
  char text[200];
  const int reuse =
      config.reuse_threshold >= 0 ? config.reuse_threshold : static_cast<int>(internal::Options().reuse_threshold);
  const char* zero = hardened && config.zero_on_free ? "ZERO_ON_FREE" : "zero_on_free=-1";
  std::snprintf(text, sizeof(text),
                "Arena_GiB=%lld,,reuse_threshold=%d:%s::span_cache_mib=%d,stats=0,verbose,LARGE_cache_mib=%d",
                static_cast<long long>(kFuzzArenaGib), reuse, zero,
                config.no_span_cache ? 0 : static_cast<int>(internal::Options().span_cache_mib),
                config.no_large_cache ? 0 : static_cast<int>(internal::Options().large_cache_mib));
  internal::Options parsed;
  int bad = parsed.Parse(text);
  SC_FUZZ_CHECK(bad == 0, "Options::Parse(\"%s\") found %d bad entries", text, bad);
  internal::Options expected = OptionsForTrace(config, hardened);
  expected.verbose = 1;
#define SC_FUZZ_COMPARE_OPTION(name, default_value, min, max, doc)                                            \
  SC_FUZZ_CHECK(parsed.name == expected.name, "after parsing \"%s\": " #name " is %lld, expected %lld", text, \
                static_cast<long long>(parsed.name), static_cast<long long>(expected.name));
  SC_OPTIONS_TABLE(SC_FUZZ_COMPARE_OPTION)

  // Out of range, unknown (bare, empty and over-long names), not an integer (suffix, lone sign, too large).
  static const std::string kMalformed =
      "reuse_threshold=101:no_such_option:span_cache_mib=12x,=5:arena_gib=-:zero_on_free=99999999999999:" +
      std::string(130, 'x') + "=1";
  constexpr int kMalformedEntries = 7;
  StderrCapture capture;
  bad = parsed.Parse(kMalformed.c_str());
  const std::string warnings = capture.Finish();
  SC_FUZZ_CHECK(bad == kMalformedEntries, "Options::Parse of malformed entries found %d bad ones, not %d", bad,
                kMalformedEntries);
  size_t lines = 0;
  const std::string warning = "scalloc: warning: ignoring SCALLOC_OPTIONS entry '";
  for (size_t at = warnings.find(warning); at != std::string::npos; at = warnings.find(warning, at + 1)) ++lines;
  SC_FUZZ_CHECK(lines == kMalformedEntries && warnings.find("': value out of range\n") != std::string::npos &&
                    warnings.find("': unknown option\n") != std::string::npos &&
                    warnings.find("': value is not an integer\n") != std::string::npos,
                "Options::Parse warned %zu times, not %d:\n%s", lines, kMalformedEntries, warnings.c_str());
  SC_OPTIONS_TABLE(SC_FUZZ_COMPARE_OPTION)
#undef SC_FUZZ_COMPARE_OPTION
  return parsed;
}

// Init() of an instance whose options say verbose=1 prints the mode and every option: checks those lines.
template <class AllocatorType>
bool InitVerbose(AllocatorType& allocator) {
  StderrCapture capture;
  bool ok = allocator.Init();
  const std::string said = capture.Finish();
  if (!ok) return false;
  const std::string mode = std::string("scalloc: ") + AllocatorType::PolicyName() + " mode, arena of ";
  SC_FUZZ_CHECK(said.compare(0, mode.size(), mode) == 0, "verbose start-up says:\n%s", said.c_str());
  const internal::Options& options = allocator.options();
  char line[96];
#define SC_FUZZ_CHECK_PRINTED(name, default_value, min, max, doc)                                                 \
  std::snprintf(line, sizeof(line), "\nscalloc: option " #name "=%lld  (", static_cast<long long>(options.name)); \
  SC_FUZZ_CHECK(said.find(line) != std::string::npos, "verbose start-up lacks '%s':\n%s", line + 1, said.c_str());
  SC_OPTIONS_TABLE(SC_FUZZ_CHECK_PRINTED)
#undef SC_FUZZ_CHECK_PRINTED
  return true;
}

class HeapUnderTest {
 public:
  virtual ~HeapUnderTest() = default;

  virtual const char* name() const = 0;
  virtual void* Alloc(size_t size) = 0;
  virtual void* AllocZeroed(size_t count, size_t size) = 0;
  virtual void* AllocAligned(size_t alignment, size_t size) = 0;
  virtual void* Realloc(void* pointer, size_t size) = 0;
  virtual void Free(void* pointer) = 0;
  virtual void FreeSized(void* pointer, size_t size) = 0;
  virtual void FreeAlignedSized(void* pointer, size_t alignment, size_t size) = 0;
  virtual size_t UsableSize(const void* pointer) = 0;
  virtual bool IsValid() = 0;
  virtual size_t LiveBytes() = 0;
  virtual void FlushThreadCache() = 0;
  virtual size_t Trim() = 0;
  virtual void CollectStats(internal::Stats* stats) = 0;
  virtual void Release() = 0;

  // Misuse support.
  virtual bool IsInArena(const void* pointer) = 0;
  // True when `pointer` is a block boundary inside the committed part of a span that currently holds a size
  // class, in the part handed out before, so writing its first 8 bytes cannot fault (the block may be free).
  virtual bool IsWritableBlockStart(const void* pointer) = 0;
  // An address inside a span the arena has never handed out, or nullptr if there is none.
  virtual void* NeverUsedArenaAddress(uint8_t selector) = 0;

  // --- trace bookkeeping ---
  void* slot_pointer[kNumSlots] = {};
  // The pointer most recently freed from each slot (what a use after free or double free would use).
  void* stale_pointer[kNumSlots] = {};
  size_t stale_request[kNumSlots] = {};
  size_t stale_alignment[kNumSlots] = {};
  IntervalSet live;
};

template <class Policy>
class PolicyHeap final : public HeapUnderTest {
 public:
  using AllocatorType = internal::Allocator<Policy>;

  explicit PolicyHeap(const TraceConfig& config) : allocator_(new AllocatorType()) {
    if (config.options_text) {
      allocator_->Configure(ParsedOptionsForTrace(config, AllocatorType::kHardened));
      SC_FUZZ_CHECK(InitVerbose(*allocator_), "%s: Init() failed", name());
    } else {
      allocator_->Configure(OptionsForTrace(config, AllocatorType::kHardened));
      SC_FUZZ_CHECK(allocator_->Init(), "%s: Init() failed", name());
    }
  }

  ~PolicyHeap() override {
    if (allocator_ != nullptr) allocator_->ReleaseAllForTesting();
  }

  const char* name() const override { return AllocatorType::PolicyName(); }
  void* Alloc(size_t size) override { return allocator_->Alloc(size); }
  void* AllocZeroed(size_t count, size_t size) override { return allocator_->AllocZeroed(count, size); }
  void* AllocAligned(size_t alignment, size_t size) override { return allocator_->AllocAligned(alignment, size); }
  void* Realloc(void* pointer, size_t size) override { return allocator_->Realloc(pointer, size); }
  void Free(void* pointer) override { allocator_->Free(pointer); }
  void FreeSized(void* pointer, size_t size) override { allocator_->FreeSized(pointer, size); }
  void FreeAlignedSized(void* pointer, size_t alignment, size_t size) override {
    allocator_->FreeAlignedSized(pointer, alignment, size);
  }
  size_t UsableSize(const void* pointer) override { return allocator_->UsableSize(pointer); }
  bool IsValid() override { return allocator_->IsValidForTesting(); }
  size_t LiveBytes() override { return allocator_->LiveBytesForTesting(); }
  void FlushThreadCache() override { allocator_->FlushThreadCacheForTesting(); }
  size_t Trim() override { return allocator_->Trim(); }
  void CollectStats(internal::Stats* stats) override { allocator_->CollectStats(stats); }
  void Release() override {
    allocator_->ReleaseAllForTesting();
    allocator_.reset();
  }

  bool IsInArena(const void* pointer) override { return allocator_->SpanOfForTesting(pointer) != nullptr; }

  bool IsWritableBlockStart(const void* pointer) override {
    internal::SpanMeta* span = allocator_->SpanOfForTesting(pointer);
    if (span == nullptr || span->block_bytes == 0) return false;
    internal::RemoteWord word(span->remote.load(std::memory_order_relaxed));
    if (word.state() == internal::SpanState::kFree) return false;
    uintptr_t start = reinterpret_cast<uintptr_t>(pointer) & ~(internal::kVirtualSpanBytes - 1);
    uintptr_t offset = reinterpret_cast<uintptr_t>(pointer) - start;
    // Only blocks carved out already: a never-carved tail may still carry poisoning from the span's last life.
    return offset < uintptr_t{span->block_bytes} * span->num_blocks && offset % span->block_bytes == 0 &&
           reinterpret_cast<uintptr_t>(pointer) < span->bump;
  }

  void* NeverUsedArenaAddress(uint8_t selector) override {
    const auto& arena = allocator_->ArenaForTesting();
    uint32_t used = arena.spans_ever_used();
    uint32_t total = arena.num_spans();
    if (used + 1 >= total) return nullptr;
    // Pick among the last spans (far from anything a trace uses) and a 16-byte aligned offset in the span.
    uint32_t index = total - 1 - selector % (total - used - 1 < 8 ? total - used - 1 : 8);
    uintptr_t offset = (uintptr_t{selector} * 4112) % internal::kVirtualSpanBytes & ~uintptr_t{15};
    return reinterpret_cast<void*>(arena.SpanStart(index) + offset);
  }

 private:
  std::unique_ptr<AllocatorType> allocator_;
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_HEAP_UNDER_TEST_H_
