// Arena: the reserved address space cut into 2 MiB virtual spans, plus the out-of-line metadata arrays indexed
// by span number (SpanMeta, and the allocation bitmaps when the policy detects double frees). Block -> span is
// a subtraction and a shift. The address range is fixed at Init for the arena's whole capacity, but only a
// growing prefix of it (and of the metadata arrays) is mapped (GrowableRegion says why); Contains() covers that
// prefix only. Under an address-space limit the arena is sparse: only real spans are mapped, one mapping each,
// and the rest of every virtual span is a hole (TryReserveSparse says why and where). Thread-safe: fresh spans
// are taken with a compare-and-swap, growth under a lock.
#ifndef SCALLOC_SRC_CORE_ARENA_H_
#define SCALLOC_SRC_CORE_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "src/base/bits.h"
#include "src/base/compiler.h"
#include "src/base/spin_lock.h"
#include "src/base/tagged_index_stack.h"
#include "src/core/growable_region.h"
#include "src/core/size_classes.h"
#include "src/core/span.h"
#include "src/core/unreserved_range.h"
#include "src/os/os.h"

namespace scalloc::internal {

inline constexpr size_t kBitmapWordsPerSpan = kMaxBlocksPerSpan / 64;
// Per span and per group of 64 blocks, two adjacent words (one cache line holds both): the owner's toggle word
// (written only by the span's current owner) and the remote toggle word (flipped by remote freers with atomic bit
// operations). A block is live iff its two bits differ. See Allocator's double-free checks.
inline constexpr size_t kBitmapWordsPerSpanRecord = 2 * kBitmapWordsPerSpan;
inline constexpr size_t kMinArenaSpans = 16;
// A sparse arena's span count is bounded as a dense one's is by the terabyte default: 2 TiB of range.
inline constexpr size_t kMaxSparseSpans = size_t{1} << 20;
// A dense arena's spans go sparse only while this much of its range stays above them (Arena::RoomAboveFor),
// when no address-space limit bounds what the kernel can map there.
inline constexpr size_t kLateSparseRoomBytes = size_t{16} << 30;
// Candidate ranges a sparse arena checks before it settles for a dense one.
inline constexpr unsigned kSparseRangeAttempts = 4;
// Spans mapped at Init (16 MiB of address space); the mapped prefix then doubles as spans are taken. Small,
// because mlockall(MCL_CURRENT) populates all of it.
inline constexpr size_t kInitialArenaSpans = 8;
// Guarded arenas with guard markers: never-used spans are prepared this many at a time (EnsureGuardMarkers).
inline constexpr uint32_t kGuardMarkerBatchSpans = 16;
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
    if (limit != SIZE_MAX && TryReserveSparse(requested_bytes, limit, !accessible, with_bitmaps)) return true;
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
    ReleaseRegions();
    base_ = 0;
    __atomic_store_n(&size_bytes_, 0, __ATOMIC_RELAXED);
    metas_ = nullptr;
    bitmaps_ = nullptr;
    toggle_bias_ = 0;
    capacity_spans_ = 0;
    sparse_from_.store(kNoIndex, std::memory_order_relaxed);
    next_fresh_.store(0, std::memory_order_relaxed);
    marker_frontier_.store(0, std::memory_order_relaxed);
  }

  // Only the mapped prefix: the kernel may place other mappings (our large objects among them) in the
  // given-back rest of the range. A plain read of the bound, which only grows and is stored whole: a thread
  // holding a pointer into a span got it through an order that the span's growth happened before, so it reads
  // a bound that covers the span; an address beyond the bound is not a block of ours whatever bound is read.
  // (An atomic load would cost a separate instruction on every free; a plain one folds into the compare.)
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

  // A never-used span, or kNoIndex when the arena is exhausted (its capacity taken, or the next part of its
  // range could not be mapped). Every index below next_fresh_ was handed out.
  uint32_t TakeFreshSpan() {
    uint32_t index = next_fresh_.load(std::memory_order_relaxed);
    for (;;) {
      if (index >= num_spans()) {
        if (!Grow(index + 1)) return kNoIndex;
        index = next_fresh_.load(std::memory_order_relaxed);
        continue;
      }
      if (next_fresh_.compare_exchange_weak(index, index + 1, std::memory_order_relaxed)) {
        if (use_guard_markers_ && !IsSparseSpan(index)) EnsureGuardMarkers(index);
        return index;
      }
    }
  }

  // Guarded arenas: makes [offset, offset + bytes) of span `index` accessible (fresh zero pages where nothing
  // was resident), or inaccessible with its pages dropped. False on failure (nothing changed).
  // The caller owns the span.
  // Sparse spans: opening maps the span up to offset + bytes, closing unmaps from offset on (a range that ends
  // where the mapping does); the holes fault as PROT_NONE would.
  [[nodiscard]] bool OpenSpanRange(uint32_t index, uintptr_t offset, size_t bytes) {
    if (IsSparseSpan(index)) return MapSpanPrefix(index, offset + bytes);
    SpanMeta& meta = metas_[index];
    if (meta.guard_scheme == kGuardMarkersToRemove) {
      if (!Os::RemoveGuard(reinterpret_cast<void*>(SpanStart(index)), kVirtualSpanBytes)) return false;
      meta.guard_scheme = kGuardByProtection;
    }
    void* start = reinterpret_cast<void*>(SpanStart(index) + offset);
    return meta.guard_scheme == kGuardByMarkers ? Os::RemoveGuard(start, bytes) : Os::Commit(start, bytes);
  }
  [[nodiscard]] bool CloseSpanRange(uint32_t index, uintptr_t offset, size_t bytes) {
    if (IsSparseSpan(index)) {
      UnmapSpanTail(index, offset);
      return true;
    }
    void* start = reinterpret_cast<void*>(SpanStart(index) + offset);
    return metas_[index].guard_scheme == kGuardByMarkers ? Os::InstallGuard(start, bytes) : Os::Protect(start, bytes);
  }

  // Sparse spans: maps span `index` read-write up to `bytes` (a page multiple; fresh zero pages past what was
  // mapped). False, with nothing changed, when the address-space limit or another mapping is in the way.
  // The caller owns the span.
  [[nodiscard]] bool MapSpanPrefix(uint32_t index, size_t bytes) {
    SpanMeta& meta = metas_[index];
    if (bytes <= meta.mapped_bytes) return true;
    if (!Os::MapAt(reinterpret_cast<void*>(SpanStart(index) + meta.mapped_bytes), bytes - meta.mapped_bytes,
                   /*accessible=*/true)) {
      return false;
    }
    meta.mapped_bytes = static_cast<uint32_t>(bytes);
    return true;
  }
  // Sparse spans: unmaps span `index` from `keep` bytes on, which gives their address space back too.
  void UnmapSpanTail(uint32_t index, size_t keep) {
    SpanMeta& meta = metas_[index];
    if (meta.mapped_bytes <= keep) return;
    Os::Release(reinterpret_cast<void*>(SpanStart(index) + keep), meta.mapped_bytes - keep);
    meta.mapped_bytes = static_cast<uint32_t>(keep);
  }
  // Whether span `index` maps its real span alone (sparse) rather than lying in the mapped prefix (dense). A
  // sparse arena's spans all are; a dense arena's spans become so from the index where its prefix stopped
  // (Grow: a limit set after start, or mlockall). A span index reaches its user after the switch is made,
  // through num_spans().
  SC_ALWAYS_INLINE bool IsSparseSpan(uint32_t index) const {
    return index >= sparse_from_.load(std::memory_order_relaxed);
  }
  bool sparse() const { return sparse_from_.load(std::memory_order_relaxed) == 0; }

  uintptr_t base() const { return base_; }
  // The mapped part (usable spans) and the capacity the address range was fixed for.
  size_t size_bytes() const { return __atomic_load_n(&size_bytes_, __ATOMIC_RELAXED); }
  // Acquire: pairs with Grow's release, so the new spans' metadata mapping is seen with them.
  uint32_t num_spans() const {
    return static_cast<uint32_t>(__atomic_load_n(&size_bytes_, __ATOMIC_ACQUIRE) >> kVirtualSpanShift);
  }
  size_t capacity_bytes() const { return size_t{capacity_spans_} << kVirtualSpanShift; }
  uint32_t spans_ever_used() const { return next_fresh_.load(std::memory_order_relaxed); }
  bool initialized() const { return base_ != 0; }
  // Held while the mapped prefix grows (fork handlers take it last).
  SpinLock& lock() { return grow_lock_; }

 private:
  // Never-used spans of a guarded arena become read-write and all guard markers, a batch at a time in address
  // order: their mapping merges with the spans before them, so the arena stays a few VMAs however many spans
  // are in use, and a fresh span then costs one system call (removing the markers of its real span), as the
  // PROT_NONE scheme's mprotect did. Where that fails, the batch keeps the PROT_NONE scheme (a VMA more per span).
  void EnsureGuardMarkers(uint32_t index) {
    if (index < marker_frontier_.load(std::memory_order_acquire)) return;
    SpinLockGuard guard(grow_lock_);
    const uint32_t frontier = marker_frontier_.load(std::memory_order_relaxed);
    if (index < frontier) return;
    const uint32_t mapped = num_spans();
    uint32_t end = frontier + kGuardMarkerBatchSpans > index + 1 ? frontier + kGuardMarkerBatchSpans : index + 1;
    if (end > mapped) end = mapped;
    const uint32_t dense_end = sparse_from_.load(std::memory_order_relaxed);
    if (end > dense_end) end = dense_end;
    void* start = reinterpret_cast<void*>(SpanStart(frontier));
    const size_t bytes = size_t{end - frontier} << kVirtualSpanShift;
    // Markers first, while the spans are still PROT_NONE: where they cannot be installed (a process that called
    // mlockall: the kernel refuses markers in locked mappings) nothing has changed, and making the batch
    // read-write first would have made a locked mapping populate all of it.
    if (Os::InstallGuard(start, bytes)) {
      GuardScheme scheme = kGuardByMarkers;
      if (!Os::Commit(start, bytes)) {
        scheme = Os::RemoveGuard(start, bytes) ? kGuardByProtection : kGuardMarkersToRemove;
      }
      for (uint32_t i = frontier; i < end; ++i) metas_[i].guard_scheme = scheme;
    }
    // Release: a thread that reads the new frontier sees the spans' flags.
    marker_frontier_.store(end, std::memory_order_release);
  }

  static size_t MetaBytes(size_t spans) { return AlignUp(spans * sizeof(SpanMeta), kPageSize); }
  static size_t BitmapBytes(size_t spans) {
    return AlignUp(spans * kBitmapWordsPerSpanRecord * sizeof(uint64_t), kPageSize);
  }

  // Maps spans, metadata and bitmaps up to at least `spans` spans: doubles the mapped prefix (up to the
  // capacity), or maps just what is needed when doubling does not fit. False when not even that can be mapped.
  // A dense arena goes on sparse (its later spans map their real spans alone, as a sparse arena's do) where
  // mapping whole virtual spans would cost what they do not use: under an address-space limit set after
  // start (a sandbox lowering it), which they would exhaust at a thirty-second of the heap, and, when they are
  // read-write, under mlockall(MCL_FUTURE), which populates every page of a new mapping (a fast-mode heap of
  // 67 MiB of 64-byte blocks became 4 GiB resident).
  // A dense arena's range was placed where the kernel places mappings, and the kernel fills its given-back
  // part from the far end; its sparse spans' holes are safe only while that part stays larger than what can
  // be mapped into it (RoomAboveFor).
  bool Grow(uint32_t spans) {
    SpinLockGuard guard(grow_lock_);
    const uint32_t mapped = num_spans();
    if (spans <= mapped) return true;
    if (spans > capacity_spans_) return false;
    const size_t limit = Os::AddressSpaceLimit();
    if (sparse_from_.load(std::memory_order_relaxed) == kNoIndex && RoomAboveFor(spans, limit) &&
        (limit != SIZE_MAX || (spans_.accessible() && Os::NewMappingsAreLocked()))) {
      sparse_from_.store(mapped, std::memory_order_relaxed);
    }
    const uint32_t doubled = mapped > capacity_spans_ - mapped ? capacity_spans_ : 2 * mapped;
    for (uint32_t target : {doubled > spans ? doubled : spans, spans}) {
      if (!MapPrefix(mapped, target)) continue;
      // Metadata first, spans last, then publish: a span is usable only with its metadata mapped.
      __atomic_store_n(&size_bytes_, size_t{target} << kVirtualSpanShift, __ATOMIC_RELEASE);
      return true;
    }
    return false;
  }
  // Grows the metadata to `spans` spans, and the spans from `mapped` to `spans`: the dense ones by the
  // prefix's mapping, the sparse ones by checking that their range is free (each will map its own real span;
  // Contains() is about to cover the range, and nothing else may be there).
  bool MapPrefix(uint32_t mapped, uint32_t spans) {
    const uint32_t sparse_from = sparse_from_.load(std::memory_order_relaxed);
    const uint32_t dense = spans < sparse_from ? spans : sparse_from;
    const uint32_t first_sparse = mapped > sparse_from ? mapped : sparse_from;
    if (spans > first_sparse && sparse_from != 0 && !RoomAboveFor(spans, Os::AddressSpaceLimit())) return false;
    return metas_region_.GrowTo(MetaBytes(spans)) &&
           (bitmaps_ == nullptr || bitmaps_region_.GrowTo(BitmapBytes(spans))) &&
           spans_.GrowTo(size_t{dense} << kVirtualSpanShift) &&
           (spans <= first_sparse ||
            RangeIsUnmapped<Os>(SpanStart(first_sparse), size_t{spans - first_sparse} << kVirtualSpanShift));
  }
  // Whether a dense arena's range keeps, above its first `spans` spans, more than can be mapped there: the
  // limit, or without one kLateSparseRoomBytes (the kernel fills that part from its far end before it would
  // reach a hole between the spans below).
  bool RoomAboveFor(uint32_t spans, size_t limit) const {
    const size_t room = size_t{capacity_spans_ - spans} << kVirtualSpanShift;
    return room >= (limit != SIZE_MAX ? limit : kLateSparseRoomBytes);
  }

  // Where the metadata arrays sit at the start of an arena's reservation: the SpanMeta array, then the bitmaps
  // array (each behind a guard page when guarded, each with the growth guard page after it), padded to a span
  // boundary.
  struct MetadataLayout {
    size_t lead = 0;               // the guard page in front of each array (guarded), else 0
    size_t metas_footprint = 0;    // the SpanMeta array's region, its lead included
    size_t bitmaps_footprint = 0;  // the bitmaps array's region (0 without bitmaps)
    size_t bytes = 0;              // both, padded to a span boundary
    size_t arrays_bytes() const { return metas_footprint + bitmaps_footprint; }
    size_t padding() const { return bytes - arrays_bytes(); }
  };
  static MetadataLayout LayOutMetadata(size_t spans, bool guarded, bool with_bitmaps) {
    MetadataLayout layout;
    layout.lead = guarded ? kMetadataGuardBytes : 0;
    layout.metas_footprint = GrowableRegion<Os>::FootprintBytes(layout.lead, MetaBytes(spans), guarded);
    layout.bitmaps_footprint =
        with_bitmaps ? GrowableRegion<Os>::FootprintBytes(layout.lead, BitmapBytes(spans), guarded) : 0;
    layout.bytes = AlignUp(layout.arrays_bytes(), kVirtualSpanBytes);
    return layout;
  }
  // Hands the arrays' parts of a PROT_NONE reservation starting at `start` to their regions.
  void PlaceMetadata(uintptr_t start, const MetadataLayout& layout, size_t spans, bool guarded, bool with_bitmaps) {
    metas_region_.Place(start + layout.lead, layout.lead, MetaBytes(spans), guarded);
    if (with_bitmaps) {
      bitmaps_region_.Place(start + layout.metas_footprint + layout.lead, layout.lead, BitmapBytes(spans), guarded);
    }
  }
  // Maps the arrays' first `initial` spans' worth. False on failure (the caller releases the regions).
  bool InitMetadata(size_t initial, bool with_bitmaps) {
    return metas_region_.Init(MetaBytes(initial), /*accessible=*/true) &&
           (!with_bitmaps || bitmaps_region_.Init(BitmapBytes(initial), /*accessible=*/true));
  }

  // One PROT_NONE reservation holds, from low to high addresses: the metadata array, the bitmaps array (each
  // behind a guard page when guarded), padding to a span boundary, the lead guard span (guarded) and the
  // spans. One reservation, with the spans last, keeps the metadata's given-back ranges below the spans' much
  // larger one, which the kernel fills first (GrowableRegion).
  bool TryReserve(size_t bytes, bool accessible, bool with_bitmaps) {
    // A guarded arena (hardened mode) has a virtual span in front of the first span that is never handed out,
    // and its metadata arrays a PROT_NONE page on each side.
    const bool guarded = !accessible;
    const size_t lead = guarded ? kArenaLeadGuardBytes : 0;
    const size_t spans = bytes >> kVirtualSpanShift;
    const size_t initial = spans < kInitialArenaSpans ? spans : kInitialArenaSpans;
    const MetadataLayout layout = LayOutMetadata(spans, guarded, with_bitmaps);
    auto raw = reinterpret_cast<uintptr_t>(Os::Reserve(layout.bytes + lead + bytes, kVirtualSpanBytes,
                                                       /*accessible=*/false));
    if (raw == 0) return false;
    PlaceMetadata(raw, layout, spans, guarded, with_bitmaps);
    // The spans' lead is the padding to the span boundary plus the lead guard span.
    spans_.Place(raw + layout.bytes + lead, layout.padding() + lead, bytes, /*trailing_guard=*/false);
    if (!InitMetadata(initial, with_bitmaps) || !spans_.Init(initial << kVirtualSpanShift, accessible)) {
      ReleaseRegions();
      return false;
    }
    base_ = spans_.start();
    capacity_spans_ = static_cast<uint32_t>(spans);
    use_guard_markers_ = guarded && Os::GuardMarkersSupported();
    Publish(initial, with_bitmaps);
    return true;
  }

  // The last step of a reservation: the metadata arrays' addresses and the initial mapped span count.
  void Publish(size_t initial_spans, bool with_bitmaps) {
    __atomic_store_n(&size_bytes_, initial_spans << kVirtualSpanShift, __ATOMIC_RELEASE);
    // The metadata pages are fresh zero pages; SpanMeta's all-zero pattern is not its default state, so each
    // span's meta is constructed when the span is first taken (see SpanPool::Get).
    metas_ = reinterpret_cast<SpanMeta*>(metas_region_.start());
    bitmaps_ = with_bitmaps ? reinterpret_cast<std::atomic<uint64_t>*>(bitmaps_region_.start()) : nullptr;
    toggle_bias_ = reinterpret_cast<uintptr_t>(bitmaps_) - reinterpret_cast<uintptr_t>(metas_) * kToggleRecordPerMeta;
    next_fresh_.store(0, std::memory_order_relaxed);
  }

  // Under an address-space limit every mapped byte counts, so a dense arena, which maps whole 2 MiB virtual spans,
  // fits only limit/4 of them: 64-byte blocks ran out at 69 MiB under a 4 GB limit. A sparse arena maps each
  // span's real span alone (64 KiB for the small classes), so the limit, not the span count, bounds the heap.
  // Its range (metadata arrays, then enough spans for the limit filled with the smallest real spans) is larger
  // than the limit and so cannot be reserved; it is chosen instead where the kernel will not place mappings. The
  // kernel places them next to existing ones (top-down below the libraries, or bottom-up in the legacy layout)
  // and under the limit they cannot reach further than the limit, so the range starts the limit's size beyond
  // the place of a probe mapping, on the side away from where new mappings go. Its given-back parts (the
  // metadata's unmapped rest, the spans' holes) then stay free, which matters: the metadata grows into its rest,
  // and Contains() covers the holes, so a mapping placed in one would be taken for part of a span. The range is
  // checked to be free at Init (mapped PROT_NONE and unmapped again, a piece at a time, as the limit allows).
  // False, with nothing kept, when any of it fails; Init then makes a dense arena of limit/4.
  bool TryReserveSparse(size_t requested_bytes, size_t limit, bool guarded, bool with_bitmaps) {
    size_t spans = requested_bytes >> kVirtualSpanShift;
    if (spans > limit / kTargetRealSpanBytes) spans = limit / kTargetRealSpanBytes;
    if (spans > kMaxSparseSpans) spans = kMaxSparseSpans;
    if (spans < kMinArenaSpans) return false;
    const MetadataLayout layout = LayOutMetadata(spans, guarded, with_bitmaps);
    const size_t total = layout.bytes + (spans << kVirtualSpanShift);
    const uintptr_t start = UnmappedRangeAwayFromNewMappings<Os>(layout.bytes, total, limit, kSparseRangeAttempts);
    if (start == 0) return false;
    // The metadata arrays' reservation, at the start of the range; the regions give back what they do not map.
    if (!Os::MapAt(reinterpret_cast<void*>(start), layout.bytes, /*accessible=*/false)) return false;
    PlaceMetadata(start, layout, spans, guarded, with_bitmaps);
    // The padding between the arrays and the spans belongs to neither region and stays unmapped.
    if (layout.padding() != 0) {
      Os::Release(reinterpret_cast<void*>(start + layout.arrays_bytes()), layout.padding());
    }
    const size_t initial = spans < kInitialArenaSpans ? spans : kInitialArenaSpans;
    if (!InitMetadata(initial, with_bitmaps)) {
      ReleaseRegions();
      return false;
    }
    base_ = start + layout.bytes;
    capacity_spans_ = static_cast<uint32_t>(spans);
    sparse_from_.store(0, std::memory_order_relaxed);
    use_guard_markers_ = false;  // the holes are the guards
    Publish(initial, with_bitmaps);
    return true;
  }

  // Unmaps what the regions hold; not their given-back ranges (other mappings may be there).
  void ReleaseRegions() {
    if (metas_ != nullptr) {
      for (uint32_t index = sparse_from_.load(std::memory_order_relaxed); index < spans_ever_used(); ++index) {
        UnmapSpanTail(index, 0);
      }
    }
    metas_region_.Release();
    bitmaps_region_.Release();
    spans_.Release();
  }

  static constexpr uintptr_t kToggleRecordPerMeta = kBitmapWordsPerSpanRecord * sizeof(uint64_t) / sizeof(SpanMeta);
  static_assert(kToggleRecordPerMeta * sizeof(SpanMeta) == kBitmapWordsPerSpanRecord * sizeof(uint64_t));

  uintptr_t base_ = 0;
  size_t size_bytes_ = 0;      // mapped spans times kVirtualSpanBytes; atomic stores, plain read in Contains()
  uintptr_t toggle_bias_ = 0;  // bitmaps_ - kToggleRecordPerMeta * metas_, modulo 2^64
  SpanMeta* metas_ = nullptr;
  std::atomic<uint64_t>* bitmaps_ = nullptr;
  uint32_t capacity_spans_ = 0;
  bool use_guard_markers_ = false;               // guarded arena on a kernel with guard markers (EnsureGuardMarkers)
  std::atomic<uint32_t> sparse_from_{kNoIndex};  // first span that maps its real span alone (IsSparseSpan)
  std::atomic<uint32_t> marker_frontier_{0};     // spans below it went through EnsureGuardMarkers
  std::atomic<uint32_t> next_fresh_{0};
  GrowableRegion<Os> spans_;
  GrowableRegion<Os> metas_region_;
  GrowableRegion<Os> bitmaps_region_;
  SpinLock grow_lock_;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_ARENA_H_
