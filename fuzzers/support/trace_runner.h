// TraceRunner: executes one decoded trace against one or more fresh heaps and the shadow model, checking after
// every op that the heaps agree with each other and with the model (success, usable size, alignment, contents,
// overlap, live bytes). In misuse mode it also injects client errors and checks the allocator's reports.
#ifndef SCALLOC_FUZZERS_SUPPORT_TRACE_RUNNER_H_
#define SCALLOC_FUZZERS_SUPPORT_TRACE_RUNNER_H_

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

#include "fuzzers/support/fuzz_check.h"
#include "fuzzers/support/heap_under_test.h"
#include "fuzzers/support/misuse_injector.h"
#include "fuzzers/support/op_stream.h"
#include "fuzzers/support/report_log.h"
#include "fuzzers/support/shadow_heap.h"
#include "fuzzers/support/worker_pool.h"
#include "src/core/report.h"
#include "src/core/stats.h"
#include "src/core/stats_format.h"

// A failed check names the op (index in the trace and kind) so a crash reproducer is easy to read.
#define SC_TRACE_CHECK(condition, format, ...) \
  SC_FUZZ_CHECK(condition, "op #%zu (%s): " format, op_index_, OpKindName(op_.kind), ##__VA_ARGS__)

namespace scalloc::fuzzing {

struct RunnerOptions {
  bool validate_every_op = false;  // IsValidForTesting() after each op (slow; the single-policy fuzzers)
  bool misuse = false;             // misuse ops inject errors; otherwise they check every live block
};

using HeapFactory = std::unique_ptr<HeapUnderTest> (*)(const TraceConfig& config);

template <class Policy>
std::unique_ptr<HeapUnderTest> MakeHeap(const TraceConfig& config) {
  return std::make_unique<PolicyHeap<Policy>>(config);
}

// Requests are refused by the harness (the op is skipped) when the live blocks would exceed this: traces stay
// fast and within libFuzzer's memory limit, and whether an op runs depends only on the trace.
inline constexpr size_t kLiveBudgetBytes = size_t{64} << 20;
// Every this many ops all live blocks are compared with the model (each op checks the blocks it touches).
inline constexpr size_t kSweepInterval = 64;

class TraceRunner {
 public:
  TraceRunner(std::initializer_list<HeapFactory> factories, RunnerOptions options)
      : factories_(factories), options_(options) {}

  void Run(const uint8_t* data, size_t size) {
    WorkerPool& pool = WorkerPool::Instance();  // threads exist before any heap does
    OpStream stream(data, size);
    for (HeapFactory factory : factories_) heaps_.push_back(factory(stream.config()));
    large_cache_limit_bytes_ = static_cast<size_t>(OptionsForTrace(stream.config(), /*hardened=*/false).large_cache_mib)
                               << 20;
    if (options_.misuse) {
      ReportLog::Instance().Install();
      ReportLog::Instance().Clear();
    }
    while (!stopped_ && stream.Next(&op_)) {
      if (verbose_) PrintOp();
      pool.RunOn(thread_, [this] { Execute(); });
      if (!stopped_) AfterOp();
      ++op_index_;
    }
    Finish();
  }

 private:
  // SCALLOC_FUZZ_TRACE=1 in the environment prints every op as it runs (for reading a reproducer).
  static bool VerboseFromEnvironment() {
    const char* value = std::getenv("SCALLOC_FUZZ_TRACE");
    return value != nullptr && value[0] != '\0' && value[0] != '0';
  }

  void PrintOp() const {
    std::fprintf(stderr, "#%zu thread %u: %s slot %u", op_index_, thread_, OpKindName(op_.kind), op_.slot);
    switch (op_.kind) {
      case OpKind::kMalloc:
      case OpKind::kRealloc:
        std::fprintf(stderr, " size %zu\n", op_.size);
        break;
      case OpKind::kCalloc:
        std::fprintf(stderr, " count %zu size %zu\n", op_.count, op_.size);
        break;
      case OpKind::kMemalign:
      case OpKind::kPosixMemalign:
      case OpKind::kAlignedAlloc:
        std::fprintf(stderr, " alignment %zu size %zu\n", op_.alignment, op_.size);
        break;
      case OpKind::kFill:
        std::fprintf(stderr, " offset %u/65536 length %u/65536 seed %u\n", op_.fill_offset, op_.fill_length, op_.seed);
        break;
      case OpKind::kSwitchThread:
        std::fprintf(stderr, " -> thread %u\n", op_.thread);
        break;
      case OpKind::kMisuse:
        std::fprintf(stderr, " kind %d arg %u\n", static_cast<int>(op_.misuse), op_.arg);
        break;
      default:
        std::fprintf(stderr, "\n");
        break;
    }
  }

  void Execute() {
    switch (op_.kind) {
      case OpKind::kMalloc:
        return DoAlloc(op_.size, 0, /*count=*/0);
      case OpKind::kCalloc:
        return DoAlloc(op_.size, 0, op_.count);
      case OpKind::kMemalign:
      case OpKind::kAlignedAlloc:
        return DoAlloc(op_.size, op_.alignment, 0);
      case OpKind::kPosixMemalign:  // posix_memalign needs at least pointer alignment
        return DoAlloc(op_.size, op_.alignment < sizeof(void*) ? sizeof(void*) : op_.alignment, 0);
      case OpKind::kRealloc:
        return DoRealloc();
      case OpKind::kFree:
        if (shadow_.live(op_.slot)) return ReleaseSlot(op_.slot, /*sized=*/false);
        for (auto& heap : heaps_) heap->Free(nullptr);
        return;
      case OpKind::kFreeSized:
        if (shadow_.live(op_.slot)) return ReleaseSlot(op_.slot, /*sized=*/true);
        for (auto& heap : heaps_) heap->FreeSized(nullptr, 0);
        return;
      case OpKind::kFill:
        return DoFill();
      case OpKind::kCheck:
        return CheckSlot(op_.slot);
      case OpKind::kUsableSize:
        return DoUsableSize();
      case OpKind::kSwitchThread:
        thread_ = op_.thread;  // takes effect with the next op
        return;
      case OpKind::kFlushThread:
        for (auto& heap : heaps_) heap->FlushThreadCache();
        StopOnReport();
        return;
      case OpKind::kTrim:
        return DoTrim();
      case OpKind::kMisuse:
        if (!options_.misuse) return CheckAllSlots();
        if (InjectMisuse(*heaps_[0], shadow_.block(op_.slot), op_, op_index_, verbose_) == MisuseOutcome::kOverwrote) {
          overwrite_injected_ = true;
        }
        return;
    }
  }

  // --- allocation ------------------------------------------------------------------------------------------

  // malloc (alignment 0, count 0), calloc (count != 0 or a calloc op) and the aligned allocations.
  void DoAlloc(size_t size, size_t alignment, size_t count) {
    const bool is_calloc = op_.kind == OpKind::kCalloc;
    const size_t slot = op_.slot;
    if (shadow_.live(slot)) {
      ReleaseSlot(slot, /*sized=*/false);  // allocating into a used slot frees its block first
      if (stopped_) return;
    }
    size_t request = size;
    bool overflow = is_calloc && __builtin_mul_overflow(count, size, &request);
    bool must_fail = overflow || request > size_t{PTRDIFF_MAX};
    if (!must_fail && shadow_.live_usable_bytes() + request > kLiveBudgetBytes) return;
    void* results[2] = {};
    int errors[2] = {};
    SC_TRACE_CHECK(heaps_.size() <= 2, "at most two heaps");
    for (size_t i = 0; i < heaps_.size(); ++i) {
      errno = 0;
      if (is_calloc) {
        results[i] = heaps_[i]->AllocZeroed(count, size);
      } else if (alignment != 0) {
        results[i] = heaps_[i]->AllocAligned(alignment, size);
      } else {
        results[i] = heaps_[i]->Alloc(size);
      }
      errors[i] = errno;
    }
    if (StopOnReport()) return;
    if (!AgreeOnFailure(results, errors, request, must_fail)) return;
    size_t usable = 0;
    for (size_t i = 0; i < heaps_.size(); ++i) {
      size_t u = AdoptBlock(*heaps_[i], slot, results[i], request, alignment);
      if (i == 0) usable = u;
      SC_TRACE_CHECK(u == usable, "usable sizes differ: %s %zu, %s %zu (request %zu)", heaps_[0]->name(), usable,
                     heaps_[i]->name(), u, request);
    }
    if (alignment <= 16) {
      SC_TRACE_CHECK(usable == SpecUsableSize(request), "usable size %zu for %zu bytes, the size classes say %zu",
                     usable, request, SpecUsableSize(request));
    }
    shadow_.OnAlloc(slot, request, usable, alignment, is_calloc);
    if (is_calloc) CheckSlot(slot);
  }

  // Checks that all heaps succeeded or all failed (with ENOMEM); false when they all failed.
  bool AgreeOnFailure(void* const* results, const int* errors, size_t request, bool must_fail) {
    bool failed = results[0] == nullptr;
    for (size_t i = 1; i < heaps_.size(); ++i) {
      SC_TRACE_CHECK((results[i] == nullptr) == failed, "%s returned %p but %s returned %p for %zu bytes",
                     heaps_[0]->name(), results[0], heaps_[i]->name(), results[i], request);
    }
    if (must_fail) SC_TRACE_CHECK(failed, "a request of %zu bytes must fail", request);
    if (!failed) return true;
    SC_TRACE_CHECK(must_fail, "%s failed a request of %zu bytes", heaps_[0]->name(), request);
    for (size_t i = 0; i < heaps_.size(); ++i) {
      SC_TRACE_CHECK(errors[i] == ENOMEM, "%s failed with errno %d, not ENOMEM", heaps_[i]->name(), errors[i]);
    }
    return false;
  }

  // Records a heap's new block for `slot`; returns its usable size after checking it and its placement.
  size_t AdoptBlock(HeapUnderTest& heap, size_t slot, void* block, size_t request, size_t alignment) {
    uintptr_t address = reinterpret_cast<uintptr_t>(block);
    size_t usable = heap.UsableSize(block);
    size_t required_alignment = alignment > 16 ? alignment : 16;
    SC_TRACE_CHECK(usable >= request && usable > 0, "%s: usable size %zu for a request of %zu", heap.name(), usable,
                   request);
    SC_TRACE_CHECK(address % required_alignment == 0, "%s: %p is not %zu-aligned", heap.name(), block,
                   required_alignment);
    SC_TRACE_CHECK(heap.live.Insert(address, address + usable), "%s: block %p (+%zu) overlaps a live block",
                   heap.name(), block, usable);
    heap.slot_pointer[slot] = block;
    return usable;
  }

  void DoRealloc() {
    const size_t slot = op_.slot;
    const size_t size = op_.size;
    if (!shadow_.live(slot)) return ReallocEmptySlot(size);
    const ShadowBlock& old_block = shadow_.block(slot);
    bool must_fail = size > size_t{PTRDIFF_MAX};
    if (!must_fail && shadow_.live_usable_bytes() - old_block.usable + size > kLiveBudgetBytes) return;
    void* results[2] = {};
    int errors[2] = {};
    for (size_t i = 0; i < heaps_.size(); ++i) {
      errno = 0;
      results[i] = heaps_[i]->Realloc(heaps_[i]->slot_pointer[slot], size);
      errors[i] = errno;
    }
    if (StopOnReport()) return;
    if (size == 0) {  // glibc semantics: the block is freed and the result is NULL
      for (size_t i = 0; i < heaps_.size(); ++i) {
        SC_TRACE_CHECK(results[i] == nullptr, "%s: realloc(p, 0) returned %p", heaps_[i]->name(), results[i]);
        ForgetBlock(*heaps_[i], slot);
      }
      shadow_.OnFree(slot);
      return;
    }
    if (!AgreeOnFailure(results, errors, size, must_fail)) {
      CheckSlot(slot);  // a failed realloc leaves the block as it was
      return;
    }
    size_t usable = 0;
    for (size_t i = 0; i < heaps_.size(); ++i) {
      HeapUnderTest& heap = *heaps_[i];
      void* old_pointer = heap.slot_pointer[slot];
      SC_TRACE_CHECK(heap.live.Erase(reinterpret_cast<uintptr_t>(old_pointer)), "%s: lost block", heap.name());
      if (results[i] != old_pointer) RememberStale(heap, slot, old_pointer);
      size_t u = AdoptBlock(heap, slot, results[i], size, 0);
      if (i == 0) usable = u;
      SC_TRACE_CHECK(u == usable, "usable sizes differ after realloc: %s %zu, %s %zu", heaps_[0]->name(), usable,
                     heap.name(), u);
    }
    shadow_.OnRealloc(slot, size, usable);
    CheckSlot(slot);
  }

  // realloc(NULL, size) is malloc(size).
  void ReallocEmptySlot(size_t size) {
    bool must_fail = size > size_t{PTRDIFF_MAX};
    if (!must_fail && shadow_.live_usable_bytes() + size > kLiveBudgetBytes) return;
    void* results[2] = {};
    int errors[2] = {};
    for (size_t i = 0; i < heaps_.size(); ++i) {
      errno = 0;
      results[i] = heaps_[i]->Realloc(nullptr, size);
      errors[i] = errno;
    }
    if (StopOnReport()) return;
    if (!AgreeOnFailure(results, errors, size, must_fail)) return;
    size_t usable = SpecUsableSize(size);
    for (size_t i = 0; i < heaps_.size(); ++i) {
      size_t u = AdoptBlock(*heaps_[i], op_.slot, results[i], size, 0);
      SC_TRACE_CHECK(u == usable, "%s: realloc(NULL, %zu) has usable size %zu, the size classes say %zu",
                     heaps_[i]->name(), size, u, usable);
    }
    shadow_.OnAlloc(op_.slot, size, usable, 0, false);
  }

  // --- free ----------------------------------------------------------------------------------------------

  // Frees the slot's block in every heap (checking its contents first: the latest moment they are defined).
  void ReleaseSlot(size_t slot, bool sized) {
    CheckSlot(slot);
    const ShadowBlock& block = shadow_.block(slot);
    for (auto& heap : heaps_) {
      void* pointer = heap->slot_pointer[slot];
      if (!sized) {
        heap->Free(pointer);
      } else if (block.alignment > 16) {
        heap->FreeAlignedSized(pointer, block.alignment, block.request);
      } else {
        heap->FreeSized(pointer, block.request);
      }
      ForgetBlock(*heap, slot);
    }
    shadow_.OnFree(slot);
    StopOnReport();
  }

  void ForgetBlock(HeapUnderTest& heap, size_t slot) {
    void* pointer = heap.slot_pointer[slot];
    SC_TRACE_CHECK(heap.live.Erase(reinterpret_cast<uintptr_t>(pointer)), "%s: lost block %p", heap.name(), pointer);
    RememberStale(heap, slot, pointer);
    heap.slot_pointer[slot] = nullptr;
  }

  void RememberStale(HeapUnderTest& heap, size_t slot, void* pointer) {
    heap.stale_pointer[slot] = pointer;
    heap.stale_request[slot] = shadow_.block(slot).request;
    heap.stale_alignment[slot] = shadow_.block(slot).alignment;
  }

  // --- contents ------------------------------------------------------------------------------------------

  void DoFill() {
    if (!shadow_.live(op_.slot)) return;
    FillRange range = shadow_.RangeOf(op_.slot, op_.fill_offset, op_.fill_length);
    for (auto& heap : heaps_) {
      ShadowHeap::WriteFill(static_cast<uint8_t*>(heap->slot_pointer[op_.slot]), range, op_.seed);
    }
    shadow_.OnFill(op_.slot, range, op_.seed);
  }

  void CheckSlot(size_t slot) {
    if (!shadow_.live(slot)) return;
    for (auto& heap : heaps_) {
      uint8_t expected = 0;
      const auto* memory = static_cast<const uint8_t*>(heap->slot_pointer[slot]);
      size_t offset = shadow_.FindMismatch(slot, memory, &expected);
      SC_TRACE_CHECK(offset == SIZE_MAX, "%s: slot %zu (%p, %zu bytes) byte %zu is 0x%02x, expected 0x%02x",
                     heap->name(), slot, static_cast<const void*>(memory), shadow_.block(slot).usable, offset,
                     offset == SIZE_MAX ? 0 : memory[offset], expected);
    }
  }

  void CheckAllSlots() {
    for (size_t slot = 0; slot < kNumSlots; ++slot) CheckSlot(slot);
  }

  void DoUsableSize() {
    for (auto& heap : heaps_) {
      void* pointer = heap->slot_pointer[op_.slot];
      size_t expected = shadow_.live(op_.slot) ? shadow_.block(op_.slot).usable : 0;
      size_t usable = heap->UsableSize(pointer);
      SC_TRACE_CHECK(usable == expected, "%s: usable size of %p is %zu, expected %zu", heap->name(), pointer, usable,
                     expected);
    }
  }

  // After a heap call: in misuse mode, reports outside an injected misuse are failures, except a corrupted
  // free list after an injected overwrite, which ends the trace. Returns true when the trace stops.
  bool StopOnReport() {
    if (!options_.misuse) return false;  // without the hook a report aborts by itself
    ReportLog& log = ReportLog::Instance();
    if (log.count() == 0) return false;
    for (size_t i = 0; i < log.count() && i < ReportLog::kMaxKept; ++i) {
      SC_TRACE_CHECK(overwrite_injected_ && log.kind(i) == ReportKind::kCorruptedFreeList, "unexpected report: %s",
                     log.message(i));
    }
    if (verbose_) std::fprintf(stderr, "  reported: %s; the trace ends here\n", log.message(0));
    stopped_ = true;
    return true;
  }

  // --- trim and statistics ---------------------------------------------------------------------------------

  // malloc_trim: every cached span's memory and every cached large mapping go back, and the released bytes are
  // what the two caches held.
  void DoTrim() {
    for (auto& heap : heaps_) {
      internal::Stats before;
      heap->CollectStats(&before);
      size_t released = heap->Trim();
      const uint64_t cached = before.span_cache_bytes + before.large_cache_bytes;
      SC_TRACE_CHECK(released == cached, "%s: Trim() released %zu bytes, the caches held %llu + %llu", heap->name(),
                     released, static_cast<unsigned long long>(before.span_cache_bytes),
                     static_cast<unsigned long long>(before.large_cache_bytes));
      internal::Stats after;
      heap->CollectStats(&after);
      SC_TRACE_CHECK(after.span_cache_bytes == 0 && after.large_cache_bytes == 0,
                     "%s: the caches hold %llu + %llu bytes after Trim()", heap->name(),
                     static_cast<unsigned long long>(after.span_cache_bytes),
                     static_cast<unsigned long long>(after.large_cache_bytes));
    }
  }

  // The statistics of a quiescent heap are exact: live bytes (from the per-class counters and the large
  // objects) equal the model's, and counters never run backwards. Returns the heap's snapshot in `stats`.
  void CheckStats(HeapUnderTest& heap, internal::Stats* stats) {
    heap.CollectStats(stats);
    SC_TRACE_CHECK(stats->live_bytes == shadow_.live_usable_bytes(),
                   "%s: statistics say %llu live bytes, the model has %zu", heap.name(),
                   static_cast<unsigned long long>(stats->live_bytes), shadow_.live_usable_bytes());
    SC_TRACE_CHECK(stats->large_allocated_total >= stats->large_freed_total &&
                       stats->large_allocated_total - stats->large_freed_total == stats->large_objects,
                   "%s: %llu large objects allocated, %llu freed, %llu live", heap.name(),
                   static_cast<unsigned long long>(stats->large_allocated_total),
                   static_cast<unsigned long long>(stats->large_freed_total),
                   static_cast<unsigned long long>(stats->large_objects));
    SC_TRACE_CHECK(stats->large_cache_bytes <= large_cache_limit_bytes_,
                   "%s: the large-object cache holds %llu bytes, over its limit of %zu", heap.name(),
                   static_cast<unsigned long long>(stats->large_cache_bytes), large_cache_limit_bytes_);
    for (size_t c = 0; c < internal::kNumClasses; ++c) {
      const internal::ClassStats& cls = stats->classes[c];
      SC_TRACE_CHECK(
          cls.allocated_total >= cls.freed_total && cls.allocated_total - cls.freed_total == cls.blocks_in_use,
          "%s: class %zu: %llu blocks allocated, %llu freed, %llu in use", heap.name(), c,
          static_cast<unsigned long long>(cls.allocated_total), static_cast<unsigned long long>(cls.freed_total),
          static_cast<unsigned long long>(cls.blocks_in_use));
    }
  }

  // Once everything is freed and every LAB handed back: no live block, no span in use, no bound thread, and the
  // three renderings of the statistics are complete (not truncated) and name what they should.
  void CheckFinalStats(HeapUnderTest& heap) {
    internal::Stats stats;
    CheckStats(heap, &stats);
    SC_TRACE_CHECK(stats.large_objects == 0 && stats.large_bytes == 0 && stats.threads_bound == 0,
                   "%s: %llu large objects (%llu bytes) and %llu bound threads after freeing everything", heap.name(),
                   static_cast<unsigned long long>(stats.large_objects),
                   static_cast<unsigned long long>(stats.large_bytes),
                   static_cast<unsigned long long>(stats.threads_bound));
    for (size_t c = 0; c < internal::kNumClasses; ++c) {
      const internal::ClassStats& cls = stats.classes[c];
      SC_TRACE_CHECK(cls.spans_hot + cls.spans_floating + cls.spans_reusable == 0 && cls.committed_bytes == 0,
                     "%s: class %zu still has spans after freeing everything", heap.name(), c);
    }
    static char storage[3][1 << 16];  // the renderings of all 112 classes need about 30 KiB
    internal::TextBuffer table(storage[0], sizeof(storage[0]));
    internal::TextBuffer json(storage[1], sizeof(storage[1]));
    internal::TextBuffer xml(storage[2], sizeof(storage[2]));
    internal::FormatStatsTable(stats, heap.name(), table);
    internal::FormatStatsJson(stats, heap.name(), json);
    internal::FormatStatsMallocInfoXml(stats, xml);
    for (internal::TextBuffer* text : {&table, &json, &xml}) {
      SC_TRACE_CHECK(text->size() + 1 < sizeof(storage[0]), "%s: statistics text of %zu bytes was truncated",
                     heap.name(), text->size());
    }
    SC_TRACE_CHECK(std::strstr(table.CString(), "live bytes:        0\n") != nullptr,
                   "%s: the statistics table does not say 0 live bytes:\n%s", heap.name(), table.CString());
    const char* json_text = json.CString();
    int depth = 0;  // brackets balance and never close more than is open
    for (const char* p = json_text; *p != '\0' && depth >= 0; ++p) {
      if (*p == '{' || *p == '[') ++depth;
      if (*p == '}' || *p == ']') --depth;
    }
    SC_TRACE_CHECK(
        depth == 0 && StartsWith(json_text, "{\"mode\":\"") && std::strstr(json_text, ",\"live_bytes\":0,") != nullptr,
        "%s: malformed statistics JSON: %s", heap.name(), json_text);
    const char* xml_text = xml.CString();
    SC_TRACE_CHECK(StartsWith(xml_text, "<malloc version=\"1\">\n") && EndsWith(xml_text, "\n</malloc>\n"),
                   "%s: malformed malloc_info XML: %s", heap.name(), xml_text);
  }

  static bool StartsWith(const char* text, const char* prefix) {
    return std::strncmp(text, prefix, std::strlen(prefix)) == 0;
  }
  static bool EndsWith(const char* text, const char* suffix) {
    size_t n = std::strlen(text), k = std::strlen(suffix);
    return n >= k && std::strcmp(text + n - k, suffix) == 0;
  }

  // --- per-op and end-of-trace checks ---------------------------------------------------------------------

  void AfterOp() {
    const bool heap_intact = !overwrite_injected_;
    if (options_.validate_every_op && heap_intact) {
      for (auto& heap : heaps_) SC_TRACE_CHECK(heap->IsValid(), "%s: IsValidForTesting() failed", heap->name());
    }
    if (heap_intact) CheckLiveBytes();
    if (++ops_since_sweep_ == kSweepInterval) {
      ops_since_sweep_ = 0;
      CheckAllSlots();
      if (heap_intact) {
        internal::Stats stats;
        for (auto& heap : heaps_) CheckStats(*heap, &stats);
      }
    }
  }

  void CheckLiveBytes() {
    for (auto& heap : heaps_) {
      size_t live = heap->LiveBytes();
      SC_TRACE_CHECK(live == shadow_.live_usable_bytes(), "%s: LiveBytesForTesting() = %zu, the model has %zu",
                     heap->name(), live, shadow_.live_usable_bytes());
    }
  }

  void Finish() {
    WorkerPool& pool = WorkerPool::Instance();
    op_.kind = OpKind::kCheck;  // failures below are reported as end-of-trace checks
    if (!stopped_) {
      CheckAllSlots();
      if (!overwrite_injected_) {
        for (auto& heap : heaps_) SC_TRACE_CHECK(heap->IsValid(), "%s: invalid at end of trace", heap->name());
      }
      // Free what is left, spread over the threads so the end of a trace has remote frees too.
      for (size_t slot = 0; slot < kNumSlots && !stopped_; ++slot) {
        if (shadow_.live(slot)) pool.RunOn(slot % kNumThreads, [this, slot] { ReleaseSlot(slot, false); });
      }
    }
    // Hand every thread's LABs back, as thread exit would, so the heaps must account for every span. Also after
    // a stop: it unbinds the workers from this instance before the next input creates one at the same address.
    for (unsigned thread = 0; thread < kNumThreads; ++thread) {
      pool.RunOn(thread, [this] {
        for (auto& heap : heaps_) heap->FlushThreadCache();
        if (!stopped_) StopOnReport();
      });
    }
    if (!stopped_ && !overwrite_injected_) {
      for (auto& heap : heaps_) {
        SC_TRACE_CHECK(heap->IsValid(), "%s: invalid after freeing everything", heap->name());
        SC_TRACE_CHECK(heap->LiveBytes() == 0, "%s: %zu live bytes after freeing everything", heap->name(),
                       heap->LiveBytes());
        CheckFinalStats(*heap);
      }
    }
    for (auto& heap : heaps_) heap->Release();
    if (options_.misuse) ReportLog::Instance().Clear();
  }

  std::vector<HeapFactory> factories_;
  RunnerOptions options_;
  std::vector<std::unique_ptr<HeapUnderTest>> heaps_;
  ShadowHeap shadow_;
  size_t large_cache_limit_bytes_ = 0;  // the trace's large_cache_mib, in bytes
  Op op_;
  size_t op_index_ = 0;
  unsigned thread_ = 0;
  size_t ops_since_sweep_ = 0;
  bool overwrite_injected_ = false;  // misuse: a freed block's link was overwritten
  bool stopped_ = false;             // misuse: the overwrite was reported; the trace ends
  const bool verbose_ = VerboseFromEnvironment();
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_TRACE_RUNNER_H_
