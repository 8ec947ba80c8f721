// Allocator<Policy, Os>: one complete scalloc instance (arena, span pool, LAB registry, large objects) and its
// malloc-level operations. This header holds the class and the inline fast paths; the slow paths are in
// allocator_slow_paths.h and the invariant walkers in allocator_testing.h.
//
// Thread safety: every public function may be called from any thread concurrently, except the ...ForTesting
// functions that say otherwise and Configure (before Init only).
#ifndef SCALLOC_SRC_CORE_ALLOCATOR_H_
#define SCALLOC_SRC_CORE_ALLOCATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/base/asan.h"
#include "src/base/atomic_bits.h"
#include "src/base/bits.h"
#include "src/base/check.h"
#include "src/base/compiler.h"
#include "src/base/spin_lock.h"
#include "src/core/arena.h"
#include "src/core/free_list.h"
#include "src/core/lab.h"
#include "src/core/lab_registry.h"
#include "src/core/large_object.h"
#include "src/core/options.h"
#include "src/core/policy.h"
#include "src/core/report.h"
#include "src/core/size_classes.h"
#include "src/core/span.h"
#include "src/core/span_pool.h"
#include "src/core/stats.h"
#include "src/os/os.h"

namespace scalloc::internal {

// Requests above this are refused outright (glibc refuses sizes above PTRDIFF_MAX the same way).
inline constexpr size_t kMaxRequestBytes = size_t{PTRDIFF_MAX};

template <AllocatorPolicy P, class Os = SystemOs>
class Allocator {
 public:
  using Policy = P;
  static constexpr bool kHardened = P::kValidateFree;
  // The classes from kFirstMappedClass on are served as large objects of exactly the class size (policy.h,
  // kMaxSpanBlockBytes); none when the policy keeps every class in spans.
  static constexpr size_t kFirstMappedClass = SizeToClassUncached(P::kMaxSpanBlockBytes) + 1;
  static constexpr bool kMapsBigClasses = kFirstMappedClass < kNumClasses;
  static_assert(P::kMaxSpanBlockBytes <= kMaxSmallSize &&
                ClassToSizeUncached(kFirstMappedClass - 1) == P::kMaxSpanBlockBytes);
  static_assert(!kMapsBigClasses || ClassToSizeUncached(kFirstMappedClass) % kPageSize == 0,
                "a class served as a large object must be a whole number of pages: its usable size is the class size");

  constexpr Allocator() = default;
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Replaces the options (default: parsed from SCALLOC_OPTIONS at Init). Only before Init().
  void Configure(const Options& options) {
    options_ = options;
    configured_ = true;
  }

  // Reserves the arena and sets up the instance. Idempotent and thread-safe; false when memory is not
  // available (every allocation then fails with ENOMEM).
  bool Init() {
    if (SC_LIKELY(initialized_.load(std::memory_order_acquire))) return true;
    return InitSlow();
  }

  // --- malloc-level operations -------------------------------------------------------------------------

  SC_ALWAYS_INLINE void* Alloc(size_t size) {
    return AllocOr(size, [this](size_t request) { return AllocSlow(request, kMinAlignment); });
  }

  // Alloc's fast path; everything else is `on_miss(size)`, tail-called. operator new passes a function that also
  // runs the new_handler loop, so its fast path keeps nothing in a register across a call.
  template <class OnMiss>
  SC_ALWAYS_INLINE void* AllocOr(size_t size, OnMiss on_miss) {
    const ThreadBinding& binding = tls_binding_;
    if (SC_LIKELY(binding.token == token_)) {
      size_t class_id;
      // SizeToClass with the small-object bound folded in: one comparison for sizes up to kSmallLookupMax (written
      // as SizeToClass behind a size <= kMaxSmallSize test, clang compares twice).
      if (SC_LIKELY(size <= kSmallLookupMax)) {
        class_id = SmallSizeToClass(size);
      } else if (size <= kMaxSmallSize) {
        class_id = SizeToClassUncached(size);
      } else {
        return on_miss(size);
      }
      SpanMeta* span = binding.lab->hot[class_id];
      void* block = span->free_list;
      if (SC_LIKELY(block != nullptr)) {
        ++binding.lab->allocated_blocks[class_id];
        return PopBlock(span, block);
      }
      // Fresh blocks by bumping, without linking them first: a block's page is touched only when the block is
      // handed out, and a class of 4 KiB blocks does not take the slow path for every block. (The constant
      // empty span has bump == bump_end == 0.)
      if (HasFreshBlocks(binding.lab, span, class_id)) {
        ++binding.lab->allocated_blocks[class_id];
        return TakeFreshBlock(binding.lab, span, class_id);
      }
    }
    return on_miss(size);
  }

  void* AllocZeroed(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return FailNoMemory();
    // A large object is zeroed by LargeObjects, only when it reuses a cached mapping (fresh ones are zero).
    if (total > kMaxSmallSize) return AllocLarge(total, kPageSize, /*zeroed=*/true);
    if constexpr (kMapsBigClasses) {
      if (total > P::kMaxSpanBlockBytes) {
        if (void* block = AllocMappedClassBlock(SizeToClass(total), kPageSize, /*zeroed=*/true)) return block;
      }
    }
    void* block = Alloc(total);
    if (block != nullptr) std::memset(block, 0, total);
    return block;
  }

  void* AllocAligned(size_t alignment, size_t size) {
    SC_DCHECK(IsPowerOfTwo(alignment));
    if (alignment <= kMinAlignment) return Alloc(size);
    return AllocSlow(size, alignment);
  }

  SC_ALWAYS_INLINE void Free(void* pointer) {
    uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
    if (SC_LIKELY(arena_.Contains(address))) {
      SpanMeta* span = arena_.MetaOf(address);
      if constexpr (kHardened) {
        FreeSmallChecked(span, pointer);
      } else if (SC_LIKELY(IsOwnedByThisThread(span))) {
        PushLocal(span, pointer);
      } else if (!TryAppendToRemoteBatch(span, pointer)) {
        FreeRemote(span, pointer);
      }
      return;
    }
    FreeOutsideArena(pointer);
  }

  // free_sized / sized delete: hardened mode checks the size against the block.
  SC_ALWAYS_INLINE void FreeSized(void* pointer, size_t size) {
    if constexpr (P::kCheckSizedFree) {
      // The common case inline: a small block whose class is the size's class.
      uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
      if (SC_LIKELY(size <= kMaxSmallSize && arena_.Contains(address))) {
        SpanMeta* span = arena_.MetaOf(address);
        if (SC_LIKELY(SizeToClass(size) == span->class_id)) return FreeSmallChecked(span, pointer);
      }
      if (pointer != nullptr && !SizeMatches(pointer, size, kMinAlignment)) return;
    }
    Free(pointer);
  }
  void FreeAlignedSized(void* pointer, size_t alignment, size_t size) {
    if constexpr (P::kCheckSizedFree) {
      if (pointer != nullptr && !SizeMatches(pointer, size, alignment)) return;
    }
    Free(pointer);
  }

  void* Realloc(void* pointer, size_t size);

  // The usable size of a live block; 0 for nullptr. Equal in both policies for equal requests.
  size_t UsableSize(const void* pointer);

  // Returns cached spans' memory to the OS (malloc_trim). Returns the number of bytes released.
  size_t Trim() {
    if (!initialized()) return 0;
    FlushCallerRemoteBatch();
    return pool_.Trim() + large_.TrimCache();
  }

  // --- fork support (the global instance registers these with pthread_atfork) -----------------------------
  void PrepareFork();
  void ParentAfterFork();
  void ChildAfterFork();

  // --- statistics and options ------------------------------------------------------------------------------
  void CollectStats(Stats* stats);
  const Options& options() const { return options_; }
  bool initialized() const { return initialized_.load(std::memory_order_acquire); }
  static constexpr const char* PolicyName() { return P::kName; }

  // --- testing -------------------------------------------------------------------------------------------
  // Walks every structure and checks its invariants. Only while no other thread uses the instance.
  bool IsValidForTesting();
  // Unmaps everything; Init() may be called again. Only while no other thread uses the instance.
  void ReleaseAllForTesting();
  // Hands the calling thread's LAB back, as thread exit does.
  void FlushThreadCacheForTesting();
  // Sum of the usable sizes of live blocks. Only while no other thread uses the instance.
  size_t LiveBytesForTesting();
  // Blocks of `span` waiting in some thread's remote batch (quiescent instance only).
  uint32_t BatchedBlocksForTesting(const SpanMeta* span);
  const Arena<Os>& ArenaForTesting() const { return arena_; }
  SpanMeta* SpanOfForTesting(const void* pointer) {
    return arena_.Contains(reinterpret_cast<uintptr_t>(pointer)) ? arena_.MetaOf(reinterpret_cast<uintptr_t>(pointer))
                                                                 : nullptr;
  }
  uintptr_t EncodeLinkForTesting(const void* slot, uintptr_t next) const { return codec_.EncodeForTesting(slot, next); }

 private:
  // One per size class, on its own cache line: the reusable-span list and the lock that orders list
  // membership with span-state transitions.
  struct alignas(64) ClassList {
    SpinLock lock;
    uint32_t head = kNoIndex;
    uint32_t length = 0;
  };

  // --- fast-path helpers ---------------------------------------------------------------------------------
  SC_ALWAYS_INLINE void* PopBlock(SpanMeta* span, void* block) {
    void* next = codec_.Load(block);
    if constexpr (P::kEncodeFreeLists || P::kDetectDoubleFree) {
      std::atomic<uint64_t>* owner_word = nullptr;
      uint64_t bit = 0;
      if (SC_UNLIKELY(!CheckPoppedBlock(span, block, next, &owner_word, &bit))) {
        return PopCorrupted(span, block, next);
      }
      // Unlink first, mark allocated second: a fork() between the two only leaks the block in the child.
      span->free_list = next;
      if constexpr (P::kDetectDoubleFree) FlipOwnerBit(owner_word, bit);
    } else {
      span->free_list = next;
    }
    AsanUnpoison(block, span->block_bytes);
    return block;
  }

  // Hardened pop checks (read only): the next link is a block of this span, and the popped block is free (its
  // two toggle bits agree). The owner is the only writer of its toggle word, so PopBlock flips it with a plain
  // store.
  SC_ALWAYS_INLINE bool CheckPoppedBlock(SpanMeta* span, void* block, void* next, std::atomic<uint64_t>** owner_word,
                                         uint64_t* bit) {
    uintptr_t start = reinterpret_cast<uintptr_t>(block) & ~(kVirtualSpanBytes - 1);
    if (!IsValidLink(reinterpret_cast<uintptr_t>(next), start, span->block_bytes, span->num_blocks, span->div_magic)) {
      return false;
    }
    if constexpr (P::kDetectDoubleFree) {
      uint32_t index = BlockIndex(span, reinterpret_cast<uintptr_t>(block) - start);
      *bit = uint64_t{1} << (index & 63);
      *owner_word = OwnerToggleWord(span, index);
      if (((*owner_word)[0].load(std::memory_order_relaxed) ^ (*owner_word)[1].load(std::memory_order_relaxed)) &
          *bit) {
        return false;
      }
    }
    return true;
  }

  // The span is hot in the calling thread's LAB of this instance. The token check keeps a binding left over
  // from a released instance (whose LAB address a new instance may reuse) from matching a foreign LAB.
  SC_ALWAYS_INLINE bool IsOwnedByThisThread(const SpanMeta* span) const {
    const ThreadBinding& binding = tls_binding_;
    return span->owner.load(std::memory_order_relaxed) == binding.lab && binding.token == token_;
  }

  SC_ALWAYS_INLINE void PushLocal(SpanMeta* span, void* block) {
    ++tls_binding_.lab->freed_blocks[span->class_id];
    LinkToLocalList(span, block);
  }
  // Puts `block` at the head of the span's local list (the owner's, or a releasing thread's).
  SC_ALWAYS_INLINE void LinkToLocalList(SpanMeta* span, void* block) {
    codec_.Store(block, span->free_list);
    AsanPoisonFreeBlock(block, span->block_bytes);
    span->free_list = block;
  }

  // The hot span `span` of `lab` has never-used blocks left: from its bump pointer on, or (hardened) in the open
  // window of fresh blocks.
  SC_ALWAYS_INLINE bool HasFreshBlocks(const Lab* lab, const SpanMeta* span, size_t class_id) const {
    if constexpr (P::kRandomizeFreshBlocks) {
      if (lab->fresh_window[class_id] != 0) return true;
    }
    return span->bump < span->bump_end;
  }

  // A never-used block of the hot span `span` (HasFreshBlocks): with randomized fresh blocks, the next one of the
  // open window (OpenFreshWindow opens one when none is left), else the one at the bump pointer; marked allocated
  // where the policy keeps allocation bits.
  SC_ALWAYS_INLINE void* TakeFreshBlock(Lab* lab, SpanMeta* span, size_t class_id) {
    if constexpr (P::kRandomizeFreshBlocks) {
      const uint32_t window = lab->fresh_window[class_id];
      if (SC_UNLIKELY(window == 0)) return OpenFreshWindow(lab, span, class_id);
      // The window stops listing the block before it is marked allocated or returned (fork safety, lab.h).
      const uintptr_t address = span->bump - uintptr_t{FreshWindow::NextDistance(window)} * span->block_bytes;
      lab->fresh_window[class_id] = FreshWindow::AfterTakingOne(window);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      return MarkFreshBlockAllocated(span, address);
    } else {
      (void)lab;
      (void)class_id;
      const uintptr_t bump = span->bump;
      span->bump = bump + span->block_bytes;
      if constexpr (P::kDetectDoubleFree) {
        // Past the bump pointer before it is marked allocated, as the window orders it (fork safety, lab.h).
        std::atomic_signal_fence(std::memory_order_seq_cst);
        return MarkFreshBlockAllocated(span, bump);
      }
      AsanUnpoison(reinterpret_cast<void*>(bump), span->block_bytes);
      return reinterpret_cast<void*>(bump);
    }
  }

  // A fresh block of `span` handed out by the hardened mode: a never-used block is free (its toggle bits agree),
  // the owner's flip makes it live.
  SC_ALWAYS_INLINE void* MarkFreshBlockAllocated(SpanMeta* span, uintptr_t address) {
    if constexpr (P::kDetectDoubleFree) {
      const uint32_t index = BlockIndex(span, address & (kVirtualSpanBytes - 1));
      FlipOwnerBit(OwnerToggleWord(span, index), uint64_t{1} << (index & 63));
    }
    AsanUnpoison(reinterpret_cast<void*>(address), span->block_bytes);
    return reinterpret_cast<void*>(address);
  }

  // Hardened free of a pointer inside the arena: validates it, checks that the block is live and flips one of
  // its toggle bits (the owner's for a local free, the remote one otherwise), then frees locally or remotely.
  SC_ALWAYS_INLINE void FreeSmallChecked(SpanMeta* span, void* pointer) {
    uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
    uintptr_t start = address & ~(kVirtualSpanBytes - 1);
    uint32_t block_bytes = span->block_bytes;
    uintptr_t offset = address - start;
    // A span holding no class has block_bytes == 0, so every offset fails this test too.
    if (SC_UNLIKELY(offset >= uintptr_t{block_bytes} * span->num_blocks)) {
      return ReportFreeOfUnusedMemory(span, pointer);
    }
    if constexpr (P::kSpanChecksum) {
      if (SC_UNLIKELY(span->checksum != SpanChecksum(span, start))) return ReportCorruptedSpan(pointer);
    }
    uint32_t index = BlockIndex(span, offset);
    if (SC_UNLIKELY(uintptr_t{index} * block_bytes != offset)) {
      return ReportInvalidFree(pointer, (offset % 16) != 0 ? "misaligned pointer" : "interior pointer");
    }
    if (!IsOwnedByThisThread(span)) return FreeCheckedRemote(span, pointer, index);
    if constexpr (P::kDetectDoubleFree) {
      // A block is live iff its owner toggle bit and its remote toggle bit differ (docs/design.md).
      const uint64_t bit = uint64_t{1} << (index & 63);
      std::atomic<uint64_t>* owner_word = OwnerToggleWord(span, index);
      const uint64_t owner_bits = owner_word->load(std::memory_order_relaxed);
      if (SC_UNLIKELY(((owner_bits ^ owner_word[1].load(std::memory_order_relaxed)) & bit) == 0)) {
        return ReportFreeOfFreeBlock(span, pointer);
      }
      owner_word->store(owner_bits ^ bit, std::memory_order_relaxed);
    }
    if (SC_UNLIKELY(zero_on_free_)) return ZeroAndPushLocal(span, pointer);
    PushLocal(span, pointer);
  }

  // The remote half of a validated hardened free (a block of `span` at `index`). Inline: threadtest-like frees
  // into floated spans take it for every block (an out-of-line call cost them 5% more instructions).
  SC_ALWAYS_INLINE void FreeCheckedRemote(SpanMeta* span, void* pointer, uint32_t index) {
    if constexpr (P::kDetectDoubleFree) {
      // Two threads racing to free the same block: the second flip finds the bits already equal.
      std::atomic<uint64_t>* owner_word = OwnerToggleWord(span, index);
      const bool remote_before = AtomicTestAndComplementBit(owner_word[1], index & 63);
      const bool owner_bit = ((owner_word->load(std::memory_order_relaxed) >> (index & 63)) & 1) != 0;
      if (SC_UNLIKELY(remote_before == owner_bit)) {
        AtomicTestAndComplementBit(owner_word[1], index & 63);
        return ReportFreeOfFreeBlock(span, pointer);
      }
    }
    if (SC_UNLIKELY(zero_on_free_)) std::memset(pointer, 0, span->block_bytes);
    if (!TryAppendToRemoteBatch(span, pointer)) FreeRemote(span, pointer);
  }
  // zero_on_free of a local free, out of line: the memset call would otherwise make every local free save more
  // registers.
  SC_NOINLINE void ZeroAndPushLocal(SpanMeta* span, void* pointer) {
    std::memset(pointer, 0, span->block_bytes);
    PushLocal(span, pointer);
  }

  // A free into the span the caller's remote batch for it already chains (a thread freeing a run of blocks whose
  // span it no longer holds hot, often its own earlier allocations): no atomics, no call. The batch keeps those
  // blocks uncounted by the span, so the span cannot have gone back to the pool meanwhile. The compiler fences
  // keep the stores in the order a fork() child relies on (lab.h).
  SC_ALWAYS_INLINE bool TryAppendToRemoteBatch(SpanMeta* span, void* block) {
    const ThreadBinding& binding = tls_binding_;
    Lab* lab = binding.lab;
    // The token first: its registers are free again before the batch's address is formed (one register fewer
    // for Free, which then saves none on its local path). The constant empty LAB's batches never name a span.
    if (SC_UNLIKELY(binding.token != token_)) return false;
    RemoteBatch& batch = RemoteBatchFor(lab, span);
    if (SC_UNLIKELY(batch.span != span || batch.count >= kRemoteBatchBlocks)) return false;
    ++lab->freed_blocks[span->class_id];
    codec_.Store(block, batch.head);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    batch.head = block;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    ++batch.count;
    AsanPoisonFreeBlock(block, span->block_bytes);
    return true;
  }

  SC_ALWAYS_INLINE uint32_t BlockIndex(const SpanMeta* span, uintptr_t offset) const {
    return static_cast<uint32_t>((offset * span->div_magic) >> kDivisionShift);
  }
  // The size of the next window of fresh blocks of `span` (hardened): the never-used blocks left, at most
  // kFreshWindowBlocks.
  uint32_t NextFreshWindowSize(const SpanMeta* span) const {
    const uint32_t left = UnbumpedBlocks(span);
    return left < kFreshWindowBlocks ? left : kFreshWindowBlocks;
  }
  // Blocks of `span` from its bump pointer to the end of its real span.
  uint32_t UnbumpedBlocks(const SpanMeta* span) const { return BlockIndex(span, span->bump_end - span->bump); }
  // Never-used blocks of the hot span `span` that are still free: those from the bump pointer on, plus those
  // the owner's open window of fresh blocks (hardened) still lists. Statistics read it racily.
  uint32_t UnusedFreshBlocks(const SpanMeta* span) const {
    const Lab* owner = span->owner.load(std::memory_order_relaxed);
    return UnbumpedBlocks(span) +
           (owner == nullptr ? 0 : FreshWindow::Remaining(owner->fresh_window[span->class_id % kNumClasses]));
  }
  // The owner is the only writer of its toggle word: a plain load and store flip its bit.
  static SC_ALWAYS_INLINE void FlipOwnerBit(std::atomic<uint64_t>* owner_word, uint64_t bit) {
    owner_word->store(owner_word->load(std::memory_order_relaxed) ^ bit, std::memory_order_relaxed);
  }
  // The owner's toggle word of the block's group of 64; the remote toggle word is the next one.
  SC_ALWAYS_INLINE std::atomic<uint64_t>* OwnerToggleWord(const SpanMeta* span, uint32_t block_index) const {
    return arena_.OwnerToggleWordOf(span, block_index >> 6);
  }
  // Hardened: the block at `block_index` is live (its two toggle bits differ; docs/design.md). Exact for a block
  // the caller legitimately holds; a freed one reads as not live.
  bool IsLiveBlock(const SpanMeta* span, uint32_t block_index) const {
    const std::atomic<uint64_t>* words = OwnerToggleWord(span, block_index);
    return ((words[0].load(std::memory_order_relaxed) ^ words[1].load(std::memory_order_relaxed)) >>
            (block_index & 63)) &
           1;
  }
  // Keyed hash of the span's geometry and address: class_id and block_bytes are read as one word, and a single
  // multiply mixes every input into the high half (a forger needs the secret to match it).
  SC_ALWAYS_INLINE uint32_t SpanChecksum(const SpanMeta* span, uintptr_t start) const {
    static_assert(offsetof(SpanMeta, block_bytes) == offsetof(SpanMeta, class_id) + sizeof(uint32_t));
    uint64_t class_and_bytes;
    std::memcpy(&class_and_bytes, &span->class_id, sizeof(class_and_bytes));
    uint64_t x = (class_and_bytes ^ start ^ checksum_secret_) + (span->div_magic ^ span->num_blocks);
    return static_cast<uint32_t>((x * 0xc4ceb9fe1a85ec53ull) >> 32) | 1;
  }

  // --- slow paths (allocator_slow_paths.h) -----------------------------------------------------------------
  bool InitSlow();
  SC_NOINLINE void* AllocSlow(size_t size, size_t alignment);
  SC_NOINLINE void* AllocLarge(size_t size, size_t alignment, bool zeroed);
  void* AllocMappedClassBlock(size_t class_id, size_t alignment, bool zeroed);
  void* AllocFromClass(size_t class_id, size_t alignment);
  void* RefillAndPop(Lab* lab, size_t class_id);
  SC_NOINLINE void* PopCorrupted(SpanMeta* span, void* block, void* next);
  bool BindThread();
  SpanMeta* AcquireSpan(Lab* lab, size_t class_id);
  SpanMeta* ReviveReusableSpan(Lab* lab, size_t class_id);
  SpanMeta* PrepareFreshSpan(Lab* lab, size_t class_id, uint32_t index);
  SC_NOINLINE void* OpenFreshWindow(Lab* lab, SpanMeta* span, size_t class_id);
  bool TryReleaseFullSpan(SpanMeta* span);
  void ReleaseHotSpan(SpanMeta* span, uint32_t fresh_window);
  void ReleaseLab(Lab* lab);
  SC_NOINLINE void FreeRemote(SpanMeta* span, void* block);
  void CountRemoteFree(uint32_t class_id);
  void PushRemoteChain(SpanMeta* span, void* head_block, void* tail_block, uint32_t count);
  void PushRemoteChainWithTransition(SpanMeta* span, void* head_block, void* tail_block, uint32_t count);
  void FlushRemoteBatch(RemoteBatch& batch);
  void FlushRemoteBatches(Lab* lab);
  void FlushCallerRemoteBatch();
  SpanState NextState(const SpanMeta* span, RemoteWord word_after_push) const;
  void LinkReusableLocked(ClassList& list, SpanMeta* span);
  void UnlinkReusableLocked(ClassList& list, SpanMeta* span);
  void RetireSpan(SpanMeta* span);
  SC_NOINLINE void FreeOutsideArena(void* pointer);
  SC_NOINLINE const char* WhyNotAnObject(const void* pointer);
  SC_NOINLINE void ReportFreeOfUnusedMemory(SpanMeta* span, void* pointer);
  SC_NOINLINE void ReportFreeOfFreeBlock(const SpanMeta* span, void* pointer);
  bool SizeMatches(void* pointer, size_t size, size_t alignment);
  static bool SizeFitsClassBlock(size_t size, size_t alignment, size_t block_bytes);
  size_t ReallocUsableSize(void* pointer);
  enum class ArenaPointer { kLiveBlock, kOutsideBlocks, kInsideBlock, kFreedBlock };
  ArenaPointer CheckArenaPointer(const SpanMeta* span, uintptr_t address) const;
  void PurgeMovedBlock(void* pointer, size_t usable);
  void* FailNoMemory() {
    Os::SetErrno(kErrnoNoMemory);
    return nullptr;
  }
  static void OnThreadExit(void* lab);
  uintptr_t SpanStart(const SpanMeta* span) const { return arena_.SpanStartOf(span); }
  void* HeadPointer(const SpanMeta* span, uint32_t head) const {
    return head == 0 ? nullptr : reinterpret_cast<void*>(SpanStart(span) + RemoteWord::OffsetOfHead(head));
  }

  // --- state ---------------------------------------------------------------------------------------------
  // The per-thread binding: one slot per instantiation (Fast and Hardened get distinct slots).
  static inline constinit thread_local ThreadBinding tls_binding_{};
  // Instance tokens are unique over the process lifetime, so a thread's stale binding to a released
  // instance can never match a new instance at the same address.
  static inline std::atomic<uint64_t> next_token_{1};

  uint64_t token_ = 0;  // 0 until Init: never equal to a live binding except the empty one
  Arena<Os> arena_;
  LinkCodec<P> codec_;
  uint64_t checksum_secret_ = 0;
  bool zero_on_free_ = false;
  bool configured_ = false;
  unsigned thread_key_ = 0;
  std::atomic<bool> initialized_{false};
  SpinLock init_lock_;
  bool fork_holds_locks_ = false;  // PrepareFork took the locks (the process had threads); ParentAfterFork drops them
  Options options_;
  SpanPool<Os, P::kGuardRegions> pool_;
  LabRegistry<Os> registry_;
  LargeObjects<P, Os> large_;
  ClassList class_lists_[kNumClasses];
  // Allocation/free counts of released LABs, and frees by threads without a LAB of this instance.
  std::atomic<uint64_t> retired_allocated_[kNumClasses] = {};
  std::atomic<uint64_t> retired_freed_[kNumClasses] = {};
};

}  // namespace scalloc::internal

#include "src/core/allocator_slow_paths.h"  // IWYU pragma: export
#include "src/core/allocator_testing.h"     // IWYU pragma: export

namespace scalloc::internal {
extern template class Allocator<FastPolicy, SystemOs>;
extern template class Allocator<HardenedPolicy, SystemOs>;
}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_ALLOCATOR_H_
