// HeapUnderTest: one fresh Allocator<Policy> instance as the trace runner sees it, behind a small virtual interface
// so one runner drives one policy or both side by side. Also holds the per-heap bookkeeping of a trace: the
// pointer in each slot, the last freed pointer of each slot, and the ordered set of live blocks.
#ifndef SCALLOC_FUZZERS_SUPPORT_HEAP_UNDER_TEST_H_
#define SCALLOC_FUZZERS_SUPPORT_HEAP_UNDER_TEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzzers/support/fuzz_check.h"
#include "fuzzers/support/interval_set.h"
#include "fuzzers/support/op_stream.h"
#include "src/core/allocator.h"

namespace scalloc::fuzzing {

// Small arena: a trace touches a handful of spans, and reserving (and under ASan, unmapping) the default 1 TiB
// for every input would only cost time.
inline constexpr int64_t kFuzzArenaGib = 16;

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
    internal::Options options;
    options.arena_gib = kFuzzArenaGib;
    if (config.reuse_threshold >= 0) options.reuse_threshold = config.reuse_threshold;
    if (config.no_span_cache) options.span_cache_mib = 0;
    if (AllocatorType::kHardened && config.zero_on_free) options.zero_on_free = 1;
    allocator_->Configure(options);
    SC_FUZZ_CHECK(allocator_->Init(), "%s: Init() failed", name());
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
