// Arena: the reserved address space cut into 2 MiB virtual spans, plus the out-of-line metadata arrays indexed
// by span number (SpanMeta, and the allocation bitmaps when the policy detects double frees). Block -> span is
// a subtraction and a shift. Thread-safe: fresh spans are taken with one atomic add.
#ifndef SCALLOC_SRC_CORE_ARENA_H_
#define SCALLOC_SRC_CORE_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "src/base/bits.h"
#include "src/base/compiler.h"
#include "src/base/tagged_index_stack.h"
#include "src/core/size_classes.h"
#include "src/core/span.h"
#include "src/os/os.h"

namespace scalloc::internal {

inline constexpr size_t kBitmapWordsPerSpan = kMaxBlocksPerSpan / 64;
// Per span and per group of 64 blocks, two adjacent words (one cache line holds both): the owner's toggle word
// (written only by the span's current owner) and the remote toggle word (flipped by remote freers with atomic bit
// operations). A block is live iff its two bits differ. See Allocator's double-free checks.
inline constexpr size_t kBitmapWordsPerSpanRecord = 2 * kBitmapWordsPerSpan;
inline constexpr size_t kMinArenaSpans = 16;
// Guarded arenas (hardened mode): a PROT_NONE virtual span in front of the first span, and a PROT_NONE page on
// each side of every metadata array. The kernel places mappings next to each other, so without them an
// underflow out of the first span ran into the metadata arrays mapped just below the arena.
inline constexpr size_t kArenaLeadGuardBytes = kVirtualSpanBytes;
inline constexpr size_t kMetadataGuardBytes = kPageSize;

template <class Os>
class Arena {
 public:
  constexpr Arena() = default;

  // Reserves up to `requested_bytes` of spans (less when RLIMIT_AS is set or the reservation fails: it
  // halves and retries). `accessible`: reserve read-write (fast mode) instead of PROT_NONE (guarded mode).
  [[nodiscard]] bool Init(size_t requested_bytes, bool accessible, bool with_bitmaps) {
    size_t limit = Os::AddressSpaceLimit();
    size_t bytes = requested_bytes;
    // Under an address-space limit take a quarter: the rest is for libraries, stacks and large objects, and
    // small requests fall back to direct mappings when the arena is full (Allocator::AllocFromClass).
    if (limit != SIZE_MAX && bytes > limit / 4) bytes = limit / 4;
    bytes = AlignDown(bytes, kVirtualSpanBytes);
    for (; bytes >= kMinArenaSpans * kVirtualSpanBytes; bytes = AlignDown(bytes / 2, kVirtualSpanBytes)) {
      if (TryReserve(bytes, accessible, with_bitmaps)) return true;
    }
    return false;
  }

  void Release() {
    if (base_ == 0) return;
    const size_t lead = guarded_ ? kArenaLeadGuardBytes : 0;
    Os::Release(reinterpret_cast<void*>(base_ - lead), size_bytes_ + lead);
    ReleaseMetadata(metas_, MetaBytes(num_spans_), guarded_);
    if (bitmaps_ != nullptr) ReleaseMetadata(bitmaps_, BitmapBytes(num_spans_), guarded_);
    base_ = 0;
    size_bytes_ = 0;
    metas_ = nullptr;
    bitmaps_ = nullptr;
    toggle_bias_ = 0;
    num_spans_ = 0;
    next_fresh_.store(0, std::memory_order_relaxed);
  }

  SC_ALWAYS_INLINE bool Contains(uintptr_t address) const { return address - base_ < size_bytes_; }
  SC_ALWAYS_INLINE SpanMeta* MetaOf(uintptr_t address) const { return &metas_[(address - base_) >> kVirtualSpanShift]; }
  SC_ALWAYS_INLINE uint32_t IndexOfAddress(uintptr_t address) const {
    return static_cast<uint32_t>((address - base_) >> kVirtualSpanShift);
  }
  uint32_t IndexOf(const SpanMeta* meta) const { return static_cast<uint32_t>(meta - metas_); }
  SpanMeta* Meta(uint32_t index) const { return &metas_[index]; }
  uintptr_t SpanStart(uint32_t index) const { return base_ + (uintptr_t{index} << kVirtualSpanShift); }
  uintptr_t SpanStartOf(const SpanMeta* meta) const { return SpanStart(IndexOf(meta)); }
  // The owner's toggle word of blocks [64 * group, 64 * group + 64) of span `index`; the remote toggle word follows it.
  SC_ALWAYS_INLINE std::atomic<uint64_t>* OwnerToggleWord(uint32_t index, uint32_t group) const {
    return bitmaps_ + size_t{index} * kBitmapWordsPerSpanRecord + 2 * size_t{group};
  }
  // The same from the span's metadata: a span's toggle record is a fixed multiple of its SpanMeta's size (4), so
  // its address is the meta's address times that plus a constant (one lea instead of a subtraction, a mask, a
  // shift and an add).
  SC_ALWAYS_INLINE std::atomic<uint64_t>* OwnerToggleWordOf(const SpanMeta* meta, uint32_t group) const {
    return reinterpret_cast<std::atomic<uint64_t>*>(reinterpret_cast<uintptr_t>(meta) * kToggleRecordPerMeta +
                                                    toggle_bias_) +
           2 * size_t{group};
  }

  // A never-used span, or kNoIndex when the arena is exhausted.
  uint32_t TakeFreshSpan() {
    uint32_t index = next_fresh_.fetch_add(1, std::memory_order_relaxed);
    if (index >= num_spans_) {
      next_fresh_.store(num_spans_, std::memory_order_relaxed);  // keep the counter from wrapping
      return kNoIndex;
    }
    return index;
  }

  uintptr_t base() const { return base_; }
  size_t size_bytes() const { return size_bytes_; }
  uint32_t num_spans() const { return num_spans_; }
  uint32_t spans_ever_used() const {
    uint32_t n = next_fresh_.load(std::memory_order_relaxed);
    return n < num_spans_ ? n : num_spans_;
  }
  bool initialized() const { return base_ != 0; }

 private:
  static size_t MetaBytes(size_t spans) { return AlignUp(spans * sizeof(SpanMeta), kPageSize); }
  static size_t BitmapBytes(size_t spans) {
    return AlignUp(spans * kBitmapWordsPerSpanRecord * sizeof(uint64_t), kPageSize);
  }

  // A read-write metadata array of `bytes`; `guarded`: between two PROT_NONE pages.
  static void* ReserveMetadata(size_t bytes, bool guarded) {
    if (!guarded) return Os::Reserve(bytes, kPageSize, /*accessible=*/true);
    auto* raw = static_cast<char*>(Os::Reserve(bytes + 2 * kMetadataGuardBytes, kPageSize, /*accessible=*/true));
    if (raw == nullptr) return nullptr;
    if (!Os::Protect(raw, kMetadataGuardBytes) ||
        !Os::Protect(raw + kMetadataGuardBytes + bytes, kMetadataGuardBytes)) {
      Os::Release(raw, bytes + 2 * kMetadataGuardBytes);
      return nullptr;
    }
    return raw + kMetadataGuardBytes;
  }
  static void ReleaseMetadata(void* array, size_t bytes, bool guarded) {
    if (!guarded) return Os::Release(array, bytes);
    Os::Release(static_cast<char*>(array) - kMetadataGuardBytes, bytes + 2 * kMetadataGuardBytes);
  }

  bool TryReserve(size_t bytes, bool accessible, bool with_bitmaps) {
    // An inaccessible (guarded) arena reserves a leading virtual span that is never handed out.
    const bool guarded = !accessible;
    const size_t lead = guarded ? kArenaLeadGuardBytes : 0;
    size_t spans = bytes >> kVirtualSpanShift;
    void* raw = Os::Reserve(bytes + lead, kVirtualSpanBytes, accessible);
    if (raw == nullptr) return false;
    void* metas = ReserveMetadata(MetaBytes(spans), guarded);
    void* bitmaps = with_bitmaps ? ReserveMetadata(BitmapBytes(spans), guarded) : nullptr;
    if (metas == nullptr || (with_bitmaps && bitmaps == nullptr)) {
      Os::Release(raw, bytes + lead);
      if (metas != nullptr) ReleaseMetadata(metas, MetaBytes(spans), guarded);
      if (bitmaps != nullptr) ReleaseMetadata(bitmaps, BitmapBytes(spans), guarded);
      return false;
    }
    guarded_ = guarded;
    base_ = reinterpret_cast<uintptr_t>(raw) + lead;
    size_bytes_ = bytes;
    num_spans_ = static_cast<uint32_t>(spans);
    // The metadata pages are fresh zero pages; SpanMeta's all-zero pattern is not its default state, so each
    // span's meta is constructed when the span is first taken (see SpanPool::Get).
    metas_ = static_cast<SpanMeta*>(metas);
    bitmaps_ = static_cast<std::atomic<uint64_t>*>(bitmaps);
    toggle_bias_ = reinterpret_cast<uintptr_t>(bitmaps) - reinterpret_cast<uintptr_t>(metas) * kToggleRecordPerMeta;
    next_fresh_.store(0, std::memory_order_relaxed);
    return true;
  }

  static constexpr uintptr_t kToggleRecordPerMeta = kBitmapWordsPerSpanRecord * sizeof(uint64_t) / sizeof(SpanMeta);
  static_assert(kToggleRecordPerMeta * sizeof(SpanMeta) == kBitmapWordsPerSpanRecord * sizeof(uint64_t));

  uintptr_t base_ = 0;
  size_t size_bytes_ = 0;
  uintptr_t toggle_bias_ = 0;  // bitmaps_ - kToggleRecordPerMeta * metas_, modulo 2^64
  SpanMeta* metas_ = nullptr;
  std::atomic<uint64_t>* bitmaps_ = nullptr;
  uint32_t num_spans_ = 0;
  bool guarded_ = false;
  std::atomic<uint32_t> next_fresh_{0};
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_ARENA_H_
