// Slow paths of Allocator<P, Os>: initialization, thread binding, LAB refill, span acquisition and release,
// remote frees with their span-state transitions, large objects, realloc. Included by allocator.h only.
//
// Span-state protocol (see span.h for the states; docs/design.md for the argument):
// - Only the owning LAB moves a span out of kHot (TryReleaseFullSpan, ReleaseHotSpan); only a reviver (under
//   the class lock) or PrepareFreshSpan moves a span into kHot, bumping the epoch.
// - Freers push onto the remote list with one CAS on the remote word. A push that changes the state (floating
//   -> reusable, reusable/floating -> free) is done while holding the class lock, and in the same critical
//   section the span is linked into or unlinked from the reusable list.
// - The CAS that moves a span to kFree is made by exactly one thread, which then alone returns it to the pool.
#ifndef SCALLOC_SRC_CORE_ALLOCATOR_SLOW_PATHS_H_
#define SCALLOC_SRC_CORE_ALLOCATOR_SLOW_PATHS_H_

// This header is a part of allocator.h; including it alone is an error.
#include "src/core/allocator.h"

namespace scalloc::internal {

template <AllocatorPolicy P, class Os>
bool Allocator<P, Os>::InitSlow() {
  SpinLockGuard guard(init_lock_);
  if (initialized_.load(std::memory_order_relaxed)) return true;
  if (!configured_) {
    options_ = Options();
    options_.Parse(Os::GetEnv("SCALLOC_OPTIONS"));
  }
  zero_on_free_ = options_.zero_on_free < 0 ? P::kZeroOnFreeDefault : options_.zero_on_free != 0;
  if (zero_on_free_ && !kHardened) {
    // The fast free path has no room for the check; say so instead of silently not clearing.
    LogMessage("scalloc: zero_on_free=1 is a hardened-library option; the fast library ignores it\n");
    zero_on_free_ = false;
  }
  uint64_t secrets[2];
  Os::FillRandom(secrets, sizeof(secrets));
  codec_.SetSecret(secrets[0]);
  checksum_secret_ = secrets[1];
  size_t arena_bytes = static_cast<size_t>(options_.arena_gib) << 30;
  if (!arena_.Init(arena_bytes, /*accessible=*/!P::kGuardRegions, P::kDetectDoubleFree)) return false;
  registry_.Init();
  if (!Os::CreateThreadKey(&thread_key_, &OnThreadExit)) {
    arena_.Release();
    return false;
  }
  unsigned cpus = Os::NumCpus();
  pool_.Init(&arena_, static_cast<size_t>(options_.span_cache_mib) << 20, cpus);
  // zero_on_free promises that freed data is gone: a freed large object is unmapped instead of cached.
  large_.SetCacheLimit(zero_on_free_ ? 0 : static_cast<size_t>(options_.large_cache_mib) << 20);
  for (ClassList& list : class_lists_) {
    list.head = kNoIndex;
    list.length = 0;
  }
  token_ = next_token_.fetch_add(1, std::memory_order_relaxed);
  // Release pairs with the acquire in Init(): a thread that sees initialized_ sees the whole setup.
  initialized_.store(true, std::memory_order_release);
  if (options_.verbose) {
    char storage[200];
    TextBuffer text(storage, sizeof(storage));
    text.Append("scalloc: ").Append(P::kName).Append(" mode, arena of ");
    text.AppendDecimal(arena_.capacity_bytes() >> 20).Append(" MiB at ").AppendHex(arena_.base());
    if (arena_.sparse()) {
      text.Append(" (sparse under the address-space limit: real spans mapped one by one)\n");
    } else {
      text.Append(" (").AppendDecimal(arena_.size_bytes() >> 20).Append(" MiB mapped so far)\n");
    }
    LogMessage(text.CString());
    options_.Print();
  }
  return true;
}

template <AllocatorPolicy P, class Os>
bool Allocator<P, Os>::BindThread() {
  if (!Init()) return false;
  Lab* lab = static_cast<Lab*>(Os::GetThreadKeyValue(thread_key_));
  if (lab == nullptr) {
    uint64_t seed;
    Os::FillRandom(&seed, sizeof(seed));
    lab = registry_.Acquire(this, seed);
    if (lab == nullptr) return false;
    // Bind before registering the key: pthread_setspecific may itself allocate, and that nested call must
    // find this thread already bound instead of recursing.
    tls_binding_ = ThreadBinding{token_, lab};
    Os::SetThreadKeyValue(thread_key_, lab);
    return true;
  }
  tls_binding_ = ThreadBinding{token_, lab};
  return true;
}

template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::AllocSlow(size_t size, size_t alignment) {
  if (size > kMaxRequestBytes) return FailNoMemory();
  if (tls_binding_.token != token_ || !initialized()) {
    if (!BindThread()) return FailNoMemory();
  }
  size_t class_id;
  if (alignment <= kMinAlignment) {
    if (size > kMaxSmallSize) return AllocLarge(size, kPageSize, /*zeroed=*/false);
    class_id = SizeToClass(size);
  } else {
    class_id = alignment <= kMaxSmallSize ? AlignedSizeToClass(size, alignment) : kNumClasses;
    if (class_id == kNumClasses) return AllocLarge(size, alignment, /*zeroed=*/false);
  }
  if constexpr (kMapsBigClasses) {
    // No hot span is installed for these classes, so the fast path sends them here, until no mapping can be made
    // (vm.max_map_count, an address-space limit): then the block comes from a span, and that class's hot span
    // serves the fast path until it is used up.
    if (class_id >= kFirstMappedClass) {
      if (void* block = AllocMappedClassBlock(class_id, alignment, /*zeroed=*/false)) return block;
    }
  }
  return AllocFromClass(class_id, alignment);
}

// A large object (`alignment` a power of two); it needs no LAB, only the instance.
template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::AllocLarge(size_t size, size_t alignment, bool zeroed) {
  if (size > kMaxRequestBytes || !Init()) return FailNoMemory();
  void* block = large_.Alloc(size, alignment, zeroed);
  return block != nullptr ? block : FailNoMemory();
}

// A block of one of the classes the policy serves as large objects (kFirstMappedClass on): a mapping of exactly
// the class size. nullptr when none can be made, or while kMaxLiveLargeObjectsForClasses large objects are live
// (each takes up to three of the process's 65,530 VMAs, vm.max_map_count, which the arena needs too); the
// caller then takes the block from a span.
template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::AllocMappedClassBlock(size_t class_id, size_t alignment, bool zeroed) {
  constexpr size_t kMaxLiveLargeObjectsForClasses = 8192;
  if (!Init() || large_.live_count() >= kMaxLiveLargeObjectsForClasses) return nullptr;
  return large_.Alloc(ClassToSize(class_id), alignment > kPageSize ? alignment : kPageSize, zeroed);
}

template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::AllocFromClass(size_t class_id, size_t alignment) {
  Lab* lab = tls_binding_.lab;
  SpanMeta* span = lab->hot[class_id];
  ++lab->allocated_blocks[class_id];
  if (void* block = span->free_list) return PopBlock(span, block);
  if (HasFreshBlocks(lab, span, class_id)) return TakeFreshBlock(lab, span, class_id);
  if (void* block = RefillAndPop(lab, class_id)) return block;
  --lab->allocated_blocks[class_id];
  // The arena is exhausted (a small reservation under RLIMIT_AS, or a guard the kernel refused): serve the
  // request from a direct mapping so allocation only fails when memory really is gone.
  void* block = large_.Alloc(ClassToSize(class_id), alignment > kPageSize ? alignment : kPageSize);
  return block != nullptr ? block : FailNoMemory();
}

template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::RefillAndPop(Lab* lab, size_t class_id) {
  // Blocks this thread freed into other spans become usable to their owners (and to the pool) here at the
  // latest.
  FlushRemoteBatches(lab);
  SpanMeta* span = lab->hot[class_id];
  for (;;) {
    if (span != &kEmptySpan) {
      if (void* block = span->free_list) return PopBlock(span, block);
      // Take every remote free at once. Acquire pairs with the freers' release CAS: their link writes are
      // visible. State and epoch cannot change while we own the span, so the exchange keeps them.
      RemoteWord current(span->remote.load(std::memory_order_relaxed));
      RemoteWord taken(span->remote.exchange(RemoteWord::Make(0, 0, SpanState::kHot, current.epoch()).raw(),
                                             std::memory_order_acquire));
      if (taken.head() != 0) {
        span->free_list = HeadPointer(span, taken.head());
        continue;
      }
      if (HasFreshBlocks(lab, span, class_id)) return TakeFreshBlock(lab, span, class_id);
      // Unhook the span before it leaves kHot, so that a fork() child releasing this LAB as an orphan can
      // never release the span a second time (at worst the child leaks it).
      lab->hot[class_id] = &kEmptySpan;
      std::atomic_signal_fence(std::memory_order_seq_cst);
      if (!TryReleaseFullSpan(span)) {  // a remote free arrived: use it
        lab->hot[class_id] = span;
        continue;
      }
    }
    span = AcquireSpan(lab, class_id);
    if (span == nullptr) return nullptr;
    lab->hot[class_id] = span;
  }
}

template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::PopCorrupted(SpanMeta* span, void* block, void* next) {
  ReportCorruptedFreeList(block, reinterpret_cast<uintptr_t>(next), span->class_id);
  // Only reached when a test hook returned: drop the rest of the list (leaking it) and carry on safely.
  span->free_list = nullptr;
  Lab* lab = tls_binding_.lab;
  size_t class_id = span->class_id;
  void* fresh = lab->hot[class_id] == span ? RefillAndPop(lab, class_id) : nullptr;
  return fresh != nullptr ? fresh : FailNoMemory();
}

// Hardened: opens the next window of fresh blocks of the hot span `span` (the up to kFreshWindowBlocks blocks from
// its bump pointer on, handed out in a random order drawn here) and hands out its first block. Consecutive
// allocations are then not adjacent in a predictable order, while objects allocated together still share a few
// cache lines: a whole-page shuffle made a Python workload with PYTHONMALLOC=malloc run 1.30 s instead of 0.77 s
// unshuffled (its garbage collector walks objects in allocation order), windows of 8 0.97 s. No block is linked,
// or its page touched, before it is handed out.
template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::OpenFreshWindow(Lab* lab, SpanMeta* span, size_t class_id) {
  const uint32_t size = NextFreshWindowSize(span);
  uint64_t x = lab->random_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  lab->random_state = x;
  // The bump pointer first, the window second (fork safety, lab.h).
  span->bump += uintptr_t{size} * span->block_bytes;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  lab->fresh_window[class_id] = FreshWindow::Shuffled(size, x);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return TakeFreshBlock(lab, span, class_id);  // the window is open now
}

// The owner gives up a span with no free block at all: it floats until frees make it reusable or empty.
template <AllocatorPolicy P, class Os>
bool Allocator<P, Os>::TryReleaseFullSpan(SpanMeta* span) {
  RemoteWord current(span->remote.load(std::memory_order_relaxed));
  RemoteWord expected = RemoteWord::Make(0, 0, SpanState::kHot, current.epoch());
  span->unbumped_blocks.store(0, std::memory_order_relaxed);
  span->last_owner = tls_binding_.lab;
  span->drained_by_last_owner = 0;
  span->owner.store(nullptr, std::memory_order_relaxed);
  // Release pairs with freers' acquire loads: they see unbumped_blocks and the span's fields.
  uint64_t raw = expected.raw();
  if (span->remote.compare_exchange_strong(raw, expected.WithState(SpanState::kFloating).raw(),
                                           std::memory_order_release, std::memory_order_relaxed)) {
    return true;
  }
  span->owner.store(tls_binding_.lab, std::memory_order_relaxed);
  return false;
}

// Hands a hot span with possibly free blocks back (thread exit): its local list joins the remote list and the
// state follows from the utilization.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ReleaseHotSpan(SpanMeta* span, uint32_t fresh_window) {
  const uintptr_t start = SpanStart(span);
  // Hardened: the blocks the open window of fresh blocks still lists join the local list (the bump pointer is
  // already past them).
  for (uint32_t window = fresh_window; window != 0; window = FreshWindow::AfterTakingOne(window)) {
    void* block =
        reinterpret_cast<void*>(span->bump - uintptr_t{FreshWindow::NextDistance(window)} * span->block_bytes);
    AsanUnpoison(block, span->block_bytes);  // may still carry the poisoning of the span's previous class
    LinkToLocalList(span, block);
  }
  void* local_head = span->free_list;
  void* local_tail = nullptr;
  uint32_t local_count = 0;
  for (void* block = local_head; block != nullptr; block = codec_.Load(block)) {
    if constexpr (P::kEncodeFreeLists) {
      void* next = codec_.Load(block);
      if (!IsValidLink(reinterpret_cast<uintptr_t>(next), start, span->block_bytes, span->num_blocks,
                       span->div_magic)) {
        ReportCorruptedFreeList(block, reinterpret_cast<uintptr_t>(next), span->class_id);
        codec_.Store(block, nullptr);  // hook returned: cut the list here
      }
    }
    local_tail = block;
    if (++local_count > span->num_blocks) {
      ReportCorruptedFreeList(block, 0, span->class_id);  // a cycle
      codec_.Store(block, nullptr);
      break;
    }
  }
  span->free_list = nullptr;
  span->unbumped_blocks.store(UnbumpedBlocks(span), std::memory_order_relaxed);
  span->last_owner = nullptr;  // the LAB is going away: any thread may revive the span
  span->drained_by_last_owner = 0;
  span->owner.store(nullptr, std::memory_order_relaxed);

  ClassList& list = class_lists_[span->class_id];
  bool retire = false;
  {
    SpinLockGuard guard(list.lock);
    RemoteWord word(span->remote.load(std::memory_order_acquire));
    for (;;) {
      RemoteWord next = word;
      if (local_head != nullptr) {
        codec_.Store(local_tail, HeadPointer(span, word.head()));
        next = RemoteWord::Make(RemoteWord::HeadOf(reinterpret_cast<uintptr_t>(local_head) - start),
                                word.count() + local_count, SpanState::kHot, word.epoch());
      }
      SpanState state = NextState(span, next.WithState(SpanState::kFloating));
      next = next.WithState(state);
      uint64_t raw = word.raw();
      // Release: the moved list and unbumped_blocks are visible to whoever acquires the word next.
      if (span->remote.compare_exchange_weak(raw, next.raw(), std::memory_order_acq_rel, std::memory_order_acquire)) {
        if (state == SpanState::kReusable) LinkReusableLocked(list, span);
        retire = state == SpanState::kFree;
        break;
      }
      word = RemoteWord(raw);
    }
  }
  if (retire) RetireSpan(span);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ReleaseLab(Lab* lab) {
  FlushRemoteBatches(lab);
  // Each step clears the LAB's copy before acting on it: if a fork() interrupts a thread exiting here, the
  // child releases the same LAB again as an orphan (ChildAfterFork) and must find nothing to do twice.
  for (size_t c = 0; c < kNumClasses; ++c) {
    const uint64_t allocated = lab->allocated_blocks[c];
    const uint64_t freed = lab->freed_blocks[c];
    SpanMeta* span = lab->hot[c];
    const uint32_t fresh_window = lab->fresh_window[c];
    lab->allocated_blocks[c] = lab->freed_blocks[c] = 0;
    lab->hot[c] = &kEmptySpan;
    lab->fresh_window[c] = 0;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    retired_allocated_[c].fetch_add(allocated, std::memory_order_relaxed);
    retired_freed_[c].fetch_add(freed, std::memory_order_relaxed);
    if (span != &kEmptySpan) ReleaseHotSpan(span, fresh_window);
  }
  registry_.Release(lab);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::OnThreadExit(void* value) {
  Lab* lab = static_cast<Lab*>(value);
  auto* self = static_cast<Allocator*>(const_cast<void*>(lab->allocator));
  if (tls_binding_.lab == lab) tls_binding_ = ThreadBinding{};
  self->ReleaseLab(lab);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::FlushThreadCacheForTesting() {
  if (!initialized()) return;
  Lab* lab = static_cast<Lab*>(Os::GetThreadKeyValue(thread_key_));
  if (lab == nullptr) return;
  Os::SetThreadKeyValue(thread_key_, nullptr);
  if (tls_binding_.lab == lab) tls_binding_ = ThreadBinding{};
  ReleaseLab(lab);
}

// A span for `lab`'s class: revive a reusable one (keeps utilization high) or take one from the pool.
template <AllocatorPolicy P, class Os>
SpanMeta* Allocator<P, Os>::AcquireSpan(Lab* lab, size_t class_id) {
  if (class_lists_[class_id].head != kNoIndex) {  // racy peek; the real check is under the lock
    if (SpanMeta* span = ReviveReusableSpan(lab, class_id)) return span;
  }
  uint32_t index = pool_.Get(lab->index);
  if (index == kNoIndex) return nullptr;
  // A span without resident pages makes the heap grow, which ages the cached large mappings.
  if (arena_.Meta(index)->dirty_bytes == 0 && large_.cached_bytes() != 0) {
    large_.NoteHeapGrowth(kSizeClassInfo[class_id].real_span_bytes);
  }
  return PrepareFreshSpan(lab, class_id, index);
}

template <AllocatorPolicy P, class Os>
SpanMeta* Allocator<P, Os>::ReviveReusableSpan(Lab* lab, size_t class_id) {
  ClassList& list = class_lists_[class_id];
  SpinLockGuard guard(list.lock);
  if (list.head == kNoIndex) return nullptr;
  // Among the first few reusable spans prefer one this LAB held last (its blocks are likely in this core's
  // caches), then one no thread is still draining. Reviving a span whose last owner is freeing into it right
  // now would have the two threads share its lines (threadtest-style batches: 2-thread scaling fell to
  // 1.2-1.6x); such a span is taken only when the pool has no committed span to give instead.
  constexpr int kScanLimit = 8;
  SpanMeta* span = nullptr;
  int scanned = 0;
  for (uint32_t index = list.head; index != kNoIndex && scanned < kScanLimit; ++scanned) {
    SpanMeta* candidate = arena_.Meta(index);
    if (candidate->last_owner == lab) {
      span = candidate;
      break;
    }
    // A span whose draining owner has exited (its LAB is back in the registry) is settled too.
    const bool settled =
        !candidate->drained_by_last_owner || !candidate->last_owner->in_use.load(std::memory_order_relaxed);
    if (span == nullptr && settled) span = candidate;
    index = candidate->list_next;
  }
  if (span == nullptr) {
    if (pool_.cached_bytes() != 0) return nullptr;
    span = arena_.Meta(list.head);
  }
  UnlinkReusableLocked(list, span);
  // Freers may still push (without changing the state: a state change needs the lock we hold).
  RemoteWord word(span->remote.load(std::memory_order_acquire));
  for (;;) {
    SC_DCHECK(word.state() == SpanState::kReusable);
    uint64_t raw = word.raw();
    // Acquire: we take over the pushed blocks' links.
    if (span->remote.compare_exchange_weak(raw, RemoteWord::Make(0, 0, SpanState::kHot, word.epoch() + 1).raw(),
                                           std::memory_order_acquire, std::memory_order_acquire)) {
      break;
    }
    word = RemoteWord(raw);
  }
  span->free_list = HeadPointer(span, word.head());
  span->owner.store(lab, std::memory_order_relaxed);
  return span;
}

template <AllocatorPolicy P, class Os>
SpanMeta* Allocator<P, Os>::PrepareFreshSpan(Lab* lab, size_t class_id, uint32_t index) {
  SpanMeta* span = arena_.Meta(index);
  const SizeClassInfo& info = kSizeClassInfo[class_id];
  const uintptr_t start = arena_.SpanStart(index);
  if constexpr (P::kGuardRegions) {
    // Exactly the real span is accessible; the rest of the virtual span is the guard.
    if (span->dirty_bytes < info.real_span_bytes) {
      if (!arena_.OpenSpanRange(index, 0, info.real_span_bytes)) {
        pool_.Put(index, lab->index);
        return nullptr;
      }
    } else if (span->dirty_bytes > info.real_span_bytes) {
      if (!arena_.CloseSpanRange(index, info.real_span_bytes, span->dirty_bytes - info.real_span_bytes)) {
        pool_.Put(index, lab->index);
        return nullptr;
      }
    }
    span->dirty_bytes = info.real_span_bytes;
  } else {
    // A cached span that held a bigger class: give the tail back when it is worth a system call.
    constexpr uint32_t kTrimTailBytes = 64 * 1024;
    if (arena_.IsSparseSpan(index)) {
      // Only the real span is mapped, and a tail worth a system call is unmapped (address space is the limit).
      if (!arena_.MapSpanPrefix(index, info.real_span_bytes)) {
        pool_.Put(index, lab->index);
        return nullptr;
      }
      if (span->mapped_bytes >= info.real_span_bytes + kTrimTailBytes) {
        arena_.UnmapSpanTail(index, info.real_span_bytes);
        if (span->dirty_bytes > info.real_span_bytes) span->dirty_bytes = info.real_span_bytes;
      }
    } else if (span->dirty_bytes >= info.real_span_bytes + kTrimTailBytes) {
      Os::Decommit(reinterpret_cast<void*>(start + info.real_span_bytes), span->dirty_bytes - info.real_span_bytes);
      span->dirty_bytes = info.real_span_bytes;
    }
  }
  span->free_list = nullptr;
  span->bump = start;
  span->bump_end = start + uintptr_t{info.num_blocks} * info.block_bytes;
  span->class_id = static_cast<uint32_t>(class_id);
  span->block_bytes = info.block_bytes;
  span->num_blocks = info.num_blocks;
  span->div_magic = info.div_magic;
  // Reusable once fewer than threshold% of the blocks are in use.
  span->reuse_limit_blocks =
      static_cast<uint32_t>((uint64_t{info.num_blocks} * static_cast<uint64_t>(options_.reuse_threshold)) / 100);
  if constexpr (P::kSpanChecksum) span->checksum = SpanChecksum(span, start);
  span->unbumped_blocks.store(0, std::memory_order_relaxed);
  RemoteWord old(span->remote.load(std::memory_order_relaxed));
  span->remote.store(RemoteWord::Make(0, 0, SpanState::kHot, old.epoch() + 1).raw(), std::memory_order_relaxed);
  span->owner.store(lab, std::memory_order_relaxed);
  return span;
}

// The state a non-hot span should be in once `word_after_push` (its new remote word) is installed.
template <AllocatorPolicy P, class Os>
SpanState Allocator<P, Os>::NextState(const SpanMeta* span, RemoteWord word_after_push) const {
  SpanState state = word_after_push.state();
  if (state == SpanState::kHot) return state;
  uint32_t free_blocks = word_after_push.count() + span->unbumped_blocks.load(std::memory_order_relaxed);
  uint32_t in_use = span->num_blocks - free_blocks;
  if (free_blocks >= span->num_blocks) return SpanState::kFree;
  if (state == SpanState::kFloating && in_use < span->reuse_limit_blocks) return SpanState::kReusable;
  return state;
}

// Counts a free that did not go to the caller's own hot span. The constant empty LAB is never written.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::CountRemoteFree(uint32_t class_id) {
  if (tls_binding_.token == token_ && tls_binding_.lab != &kEmptyLab) {
    ++tls_binding_.lab->freed_blocks[class_id];
  } else {
    retired_freed_[class_id].fetch_add(1, std::memory_order_relaxed);
  }
}

// A free into a span the caller does not hold hot. Consecutive frees into one span are chained in the
// caller's LAB without atomics and pushed with one CAS when the span changes, the chain is full, or the thread
// next refills or exits: a thread freeing another thread's blocks in allocation order (producer/consumer, or a
// batch of its own blocks whose spans already floated) pays one CAS per chain instead of one per block.
// Appending to the current chain is inline (TryAppendToRemoteBatch); this is the rest, called when that failed.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::FreeRemote(SpanMeta* span, void* block) {
  if (SC_UNLIKELY(RemoteWord(span->remote.load(std::memory_order_relaxed)).state() == SpanState::kFree)) {
    return ReportFreeOfUnusedMemory(span, block);
  }
  CountRemoteFree(span->class_id);
  Lab* lab = tls_binding_.lab;
  // Pushed at once: frees by a thread without a LAB of this instance, and blocks of kUnbatchedBlockBytes or
  // more (a batch of them would hold up to a span's worth, 2 MiB, until the thread's next refill; with 16 batches
  // a thread that freed such blocks and then idled would hold 32 MiB nobody could use).
  if (tls_binding_.token != token_ || lab == &kEmptyLab || span->block_bytes >= kUnbatchedBlockBytes) {
    codec_.Store(block, nullptr);
    AsanPoisonFreeBlock(block, span->block_bytes);
    PushRemoteChain(span, block, block, 1);
    return;
  }
  // Start a new chain: the one in this span's batch slot (another span's, or full) is pushed first. The compiler
  // fence keeps `count` last, as a fork() child relies on (lab.h).
  RemoteBatch& batch = RemoteBatchFor(lab, span);
  FlushRemoteBatch(batch);
  codec_.Store(block, nullptr);
  batch.span = span;
  batch.tail = block;
  batch.head = block;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  batch.count = 1;
  AsanPoisonFreeBlock(block, span->block_bytes);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::FlushRemoteBatch(RemoteBatch& batch) {
  if (batch.count == 0) return;
  const RemoteBatch taken = batch;
  // Empty the batch before publishing the chain: a fork() between the two leaves the child's copy of this
  // LAB empty, so releasing the orphaned LAB there leaks the chain instead of pushing it a second time.
  batch.count = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  batch = RemoteBatch();
  PushRemoteChain(taken.span, taken.head, taken.tail, taken.count);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::FlushRemoteBatches(Lab* lab) {
  for (RemoteBatch& batch : lab->remote_batches) FlushRemoteBatch(batch);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::FlushCallerRemoteBatch() {
  if (initialized() && tls_binding_.token == token_ && tls_binding_.lab != &kEmptyLab) {
    FlushRemoteBatches(tls_binding_.lab);
  }
}

// Pushes the chain head..tail (`count` blocks, linked, tail's link to be set here) onto the span's remote list.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::PushRemoteChain(SpanMeta* span, void* head_block, void* tail_block, uint32_t count) {
  const uint32_t head = RemoteWord::HeadOf(reinterpret_cast<uintptr_t>(head_block) - SpanStart(span));
  // Acquire pairs with the owner's release when it left kHot: unbumped_blocks is then current.
  RemoteWord word(span->remote.load(std::memory_order_acquire));
  for (;;) {
    if (SC_UNLIKELY(word.state() == SpanState::kFree)) return ReportFreeOfUnusedMemory(span, head_block);
    codec_.Store(tail_block, HeadPointer(span, word.head()));
    RemoteWord next = RemoteWord::Make(head, word.count() + count, word.state(), word.epoch());
    if (NextState(span, next) != word.state())
      return PushRemoteChainWithTransition(span, head_block, tail_block, count);
    uint64_t raw = word.raw();
    // Release: the links we wrote are visible to whoever takes the list (owner exchange or reviver CAS).
    if (span->remote.compare_exchange_weak(raw, next.raw(), std::memory_order_release, std::memory_order_acquire)) {
      return;
    }
    word = RemoteWord(raw);
  }
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::PushRemoteChainWithTransition(SpanMeta* span, void* head_block, void* tail_block,
                                                     uint32_t count) {
  const uint32_t head = RemoteWord::HeadOf(reinterpret_cast<uintptr_t>(head_block) - SpanStart(span));
  ClassList& list = class_lists_[span->class_id];
  bool retire = false;
  {
    SpinLockGuard guard(list.lock);
    RemoteWord word(span->remote.load(std::memory_order_acquire));
    for (;;) {
      if (word.state() == SpanState::kFree) {
        // Lost a race with another free of the same block: a double free the fast mode cannot see earlier.
        ReportFreeOfUnusedMemory(span, head_block);
        return;
      }
      codec_.Store(tail_block, HeadPointer(span, word.head()));
      RemoteWord next = RemoteWord::Make(head, word.count() + count, word.state(), word.epoch());
      SpanState state = NextState(span, next);
      uint64_t raw = word.raw();
      if (span->remote.compare_exchange_weak(raw, next.WithState(state).raw(), std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
        if (state == SpanState::kReusable && word.state() == SpanState::kFloating) {
          span->drained_by_last_owner = span->last_owner == tls_binding_.lab && tls_binding_.token == token_;
          LinkReusableLocked(list, span);
        } else if (state == SpanState::kFree) {
          if (word.state() == SpanState::kReusable) UnlinkReusableLocked(list, span);
          retire = true;
        }
        break;
      }
      word = RemoteWord(raw);
    }
  }
  if (retire) RetireSpan(span);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::LinkReusableLocked(ClassList& list, SpanMeta* span) {
  uint32_t index = arena_.IndexOf(span);
  span->list_prev = kNoIndex;
  span->list_next = list.head;
  if (list.head != kNoIndex) arena_.Meta(list.head)->list_prev = index;
  list.head = index;
  ++list.length;
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::UnlinkReusableLocked(ClassList& list, SpanMeta* span) {
  if (span->list_prev != kNoIndex) {
    arena_.Meta(span->list_prev)->list_next = span->list_next;
  } else {
    list.head = span->list_next;
  }
  if (span->list_next != kNoIndex) arena_.Meta(span->list_next)->list_prev = span->list_prev;
  span->list_prev = span->list_next = kNoIndex;
  --list.length;
}

// An empty span (state already kFree, claimed by the caller's CAS) goes back to the span pool.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::RetireSpan(SpanMeta* span) {
  const uintptr_t start = SpanStart(span);
  if constexpr (!P::kGuardRegions) {
    uint32_t touched = static_cast<uint32_t>(AlignUp(span->bump - start, kPageSize));
    if (touched > span->dirty_bytes) span->dirty_bytes = touched;
  }
  if constexpr (P::kDetectDoubleFree) {
    // Every block is free (its two toggle bits agree); the next life of the span starts with both words clear.
    const uint32_t groups = (span->num_blocks + 63) / 64;
    for (uint32_t g = 0; g < groups; ++g) {
      std::atomic<uint64_t>* words = arena_.OwnerToggleWordOf(span, g);
      words[0].store(0, std::memory_order_relaxed);
      words[1].store(0, std::memory_order_relaxed);
    }
  }
  // ASan builds: the span leaves the pool clean, so the poisoning of its free blocks cannot outlive it (its next
  // class may place blocks elsewhere, and a released arena's range may become someone else's mapping).
  AsanUnpoison(reinterpret_cast<void*>(start), span->bump - start);
  span->block_bytes = 0;
  span->free_list = nullptr;
  span->owner.store(nullptr, std::memory_order_relaxed);
  pool_.Put(arena_.IndexOf(span), tls_binding_.lab->index);
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::FreeOutsideArena(void* pointer) {
  if (pointer == nullptr) return;
  size_t usable = 0;
  switch (large_.Free(reinterpret_cast<uintptr_t>(pointer), &usable)) {
    case LargeObjects<P, Os>::FreeResult::kFreed:
      return;
    case LargeObjects<P, Os>::FreeResult::kAlreadyFreed:
      return ReportDoubleFree(pointer, 0xffffffffu, usable);
    case LargeObjects<P, Os>::FreeResult::kUnknown:
      return ReportInvalidFree(pointer, WhyNotAnObject(pointer));
  }
}

// The report's phrase for a pointer outside the arena that is no large object's start: inside one (interior or,
// off the 16-byte grid, misaligned, as for blocks in spans), or nothing of ours.
template <AllocatorPolicy P, class Os>
const char* Allocator<P, Os>::WhyNotAnObject(const void* pointer) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
  if (!large_.IsInteriorOfLiveObject(address)) return "not allocated by scalloc";
  return (address % 16) != 0 ? "misaligned pointer" : "interior pointer";
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ReportFreeOfUnusedMemory(SpanMeta* span, void* pointer) {
  if (span->block_bytes != 0) {
    // The span is in use but the pointer is past its blocks, or its block was already freed.
    uintptr_t offset = reinterpret_cast<uintptr_t>(pointer) - SpanStart(span);
    if (offset < uintptr_t{span->block_bytes} * span->num_blocks) return ReportFreeOfFreeBlock(span, pointer);
  } else if (RemoteWord(span->remote.load(std::memory_order_relaxed)).epoch() != 0) {
    // The span was used and is now empty: the block was freed before. (class_id survives retirement.)
    ReportDoubleFree(pointer, span->class_id, 0);
    return;
  }
  ReportInvalidFree(pointer, "not an allocated block");
}

// A free (or realloc) of a block of `span` that is not live: freed before, or never handed out since the span
// took its class (at or above the bump pointer; read racily by a non-owner, which only picks the message).
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ReportFreeOfFreeBlock(const SpanMeta* span, void* pointer) {
  if (reinterpret_cast<uintptr_t>(pointer) >= span->bump) return ReportInvalidFree(pointer, "never-allocated block");
  ReportDoubleFree(pointer, span->class_id, span->block_bytes);
}

template <AllocatorPolicy P, class Os>
bool Allocator<P, Os>::SizeMatches(void* pointer, size_t size, size_t alignment) {
  uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
  if (arena_.Contains(address)) {
    SpanMeta* span = arena_.MetaOf(address);
    if (span->block_bytes == 0) return true;  // Free() reports it
    if (SizeFitsClassBlock(size, alignment, span->block_bytes)) return true;
    ReportSizeMismatch(pointer, size, span->block_bytes);
    return false;
  }
  size_t usable = large_.UsableSize(address);
  if (usable == 0) return true;  // Free() reports it
  size_t rounded;                // as LargeObjects::Alloc rounds: a zero-byte request got one page
  if (TryAlignUp(size == 0 ? 1 : size, kPageSize, &rounded) && rounded == usable) return true;
  // A block of a class served as a large object (kMaxSpanBlockBytes) follows the rules of its class.
  if (usable <= kMaxSmallSize && SizeFitsClassBlock(size, alignment, usable)) return true;
  ReportSizeMismatch(pointer, size, usable);
  return false;
}

// Whether a sized free of `size` (with `alignment`) fits a block of `block_bytes`: the block of the request's
// class, or one that realloc kept for the size (any size above half of the block).
template <AllocatorPolicy P, class Os>
bool Allocator<P, Os>::SizeFitsClassBlock(size_t size, size_t alignment, size_t block_bytes) {
  size_t expected = alignment <= kMinAlignment ? (size <= kMaxSmallSize ? SizeToClass(size) : kNumClasses)
                                               : AlignedSizeToClass(size, alignment);
  if (expected < kNumClasses && ClassToSize(expected) == block_bytes) return true;
  return size <= block_bytes && size > block_bytes / 2;
}

// Validated policies: what an arena address handed to realloc or malloc_usable_size points at. kFreedBlock only
// where the allocation bitmaps exist (a block already freed and not handed out again).
template <AllocatorPolicy P, class Os>
typename Allocator<P, Os>::ArenaPointer Allocator<P, Os>::CheckArenaPointer(const SpanMeta* span,
                                                                            uintptr_t address) const {
  const uintptr_t offset = address - SpanStart(span);
  if (span->block_bytes == 0 || offset >= uintptr_t{span->block_bytes} * span->num_blocks) {
    return ArenaPointer::kOutsideBlocks;
  }
  const uint32_t index = BlockIndex(span, offset);
  if (uintptr_t{index} * span->block_bytes != offset) return ArenaPointer::kInsideBlock;
  if constexpr (P::kDetectDoubleFree) {
    if (!IsLiveBlock(span, index)) return ArenaPointer::kFreedBlock;
  }
  return ArenaPointer::kLiveBlock;
}

template <AllocatorPolicy P, class Os>
size_t Allocator<P, Os>::UsableSize(const void* pointer) {
  uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
  if (pointer == nullptr) return 0;
  if (arena_.Contains(address)) {
    SpanMeta* span = arena_.MetaOf(address);
    if constexpr (P::kValidateFree) {
      if (CheckArenaPointer(span, address) != ArenaPointer::kLiveBlock) {
        ReportInvalidPointer(pointer, "malloc_usable_size");
        return 0;
      }
    }
    return span->block_bytes;
  }
  size_t usable = large_.UsableSize(address);
  if (P::kValidateFree && usable == 0) ReportInvalidPointer(pointer, "malloc_usable_size");
  return usable;
}

// realloc frees its argument, so a bad one is an invalid free (named as such), not just a bad query.
template <AllocatorPolicy P, class Os>
size_t Allocator<P, Os>::ReallocUsableSize(void* pointer) {
  uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
  if constexpr (P::kValidateFree) {
    if (arena_.Contains(address)) {
      SpanMeta* span = arena_.MetaOf(address);
      switch (CheckArenaPointer(span, address)) {
        case ArenaPointer::kLiveBlock:
          break;
        case ArenaPointer::kOutsideBlocks:
          ReportFreeOfUnusedMemory(span, pointer);
          return 0;
        case ArenaPointer::kInsideBlock:
          ReportInvalidFree(pointer, (address % 16) != 0 ? "misaligned pointer" : "interior pointer");
          return 0;
        case ArenaPointer::kFreedBlock:  // realloc frees its argument: a second free
          ReportFreeOfFreeBlock(span, pointer);
          return 0;
      }
      return span->block_bytes;
    }
    size_t usable = large_.UsableSize(address);
    if (usable == 0) ReportInvalidFree(pointer, WhyNotAnObject(pointer));
    return usable;
  }
  // The fast mode reports what free() would report too (a pointer in no span or large object): the check costs
  // nothing here, and returning NULL would look like an allocation failure with the block still the caller's.
  const size_t usable = UsableSize(pointer);
  if (usable == 0) ReportInvalidFree(pointer, WhyNotAnObject(pointer));
  return usable;
}

template <AllocatorPolicy P, class Os>
void* Allocator<P, Os>::Realloc(void* pointer, size_t size) {
  if (pointer == nullptr) return Alloc(size);
  if (size == 0) {  // glibc: frees and returns NULL
    Free(pointer);
    return nullptr;
  }
  if (size > kMaxRequestBytes) return FailNoMemory();
  size_t old_usable = ReallocUsableSize(pointer);
  if (old_usable == 0) return nullptr;  // invalid pointer (reported) in hardened mode
  const bool old_is_large = !arena_.Contains(reinterpret_cast<uintptr_t>(pointer));
  // A block of a size class (in a span, or mapped on its own: kMaxSpanBlockBytes) is kept while the new size still
  // fits and would not waste more than half of it.
  if (old_usable <= kMaxSmallSize && size <= old_usable && (size > old_usable / 2 || old_usable <= kMinAlignment)) {
    return pointer;
  }
  // A mapping whose new size is served by a mapping too moves its pages rather than copying them: a large object,
  // or a block of a class the policy maps (trace_replay's growing buffers).
  if (old_is_large && (size > kMaxSmallSize || (kMapsBigClasses && size > P::kMaxSpanBlockBytes))) {
    const size_t target = size > kMaxSmallSize ? AlignUp(size, kPageSize) : ClassToSize(SizeToClass(size));
    if (target == old_usable) return pointer;
    if (void* moved = large_.TryRemap(reinterpret_cast<uintptr_t>(pointer), target)) return moved;
  }
  void* fresh = Alloc(size);
  if (fresh == nullptr) return nullptr;  // errno set; the old block stays valid
  std::memcpy(fresh, pointer, old_usable < size ? old_usable : size);
  if (!old_is_large) PurgeMovedBlock(pointer, old_usable);
  Free(pointer);
  return fresh;
}

// A big block that realloc moved out of is given back to the OS page by page before it is freed (its first page
// stays: the free writes a link there). A buffer grown by realloc in small steps otherwise leaves one resident
// block in every size class it passed through: about nine times its final size for 12.5%-spaced classes.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::PurgeMovedBlock(void* pointer, size_t usable) {
  constexpr size_t kPurgeFromBytes = 64 * 1024;
  if (usable < kPurgeFromBytes || zero_on_free_) return;  // zero_on_free writes every page again
  const uintptr_t start = AlignUp(reinterpret_cast<uintptr_t>(pointer) + 1, kPageSize);
  const uintptr_t end = AlignDown(reinterpret_cast<uintptr_t>(pointer) + usable, kPageSize);
  if (end > start) Os::Decommit(reinterpret_cast<void*>(start), end - start);
}

// --- fork ---------------------------------------------------------------------------------------------------

// A single-threaded process forks without taking the locks, as glibc's malloc does: no other thread can hold
// one, and a fork from a signal handler that interrupted this thread inside the allocator (fork is
// async-signal-safe) would otherwise wait forever for a lock its own thread holds; so would one whose signal
// arrives while an earlier fork still holds them. The child resets the locks either way.
template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::PrepareFork() {
  fork_holds_locks_ = !Os::IsSingleThreaded();
  if (!fork_holds_locks_) return;
  Os::LockStdioForFork();  // before any allocator lock: see Os::LockStdioForFork
  init_lock_.Lock();
  registry_.lock().Lock();
  for (ClassList& list : class_lists_) list.lock.Lock();
  large_.lock().Lock();
  arena_.lock().Lock();
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ParentAfterFork() {
  if (!fork_holds_locks_) return;
  arena_.lock().Unlock();
  large_.lock().Unlock();
  for (ClassList& list : class_lists_) list.lock.Unlock();
  registry_.lock().Unlock();
  init_lock_.Unlock();
  Os::UnlockStdioInParent();
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ChildAfterFork() {
  arena_.lock().ResetAfterFork();
  large_.lock().ResetAfterFork();
  for (ClassList& list : class_lists_) list.lock.ResetAfterFork();
  registry_.lock().ResetAfterFork();
  init_lock_.ResetAfterFork();
  if (!initialized()) return;
  // Only the forking thread survives: hand the other threads' LABs (and their hot spans) back.
  Lab* self = tls_binding_.token == token_ ? tls_binding_.lab : nullptr;
  Lab* orphans[64];
  for (;;) {
    size_t n = 0;
    registry_.ForEachInUse([&](Lab* lab) {
      if (lab != self && n < 64) orphans[n++] = lab;
    });
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) ReleaseLab(orphans[i]);
  }
}

// --- statistics ---------------------------------------------------------------------------------------------

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::CollectStats(Stats* stats) {
  *stats = Stats();
  stats->resident_bytes = Os::ResidentBytes();
  if (!initialized()) return;
  FlushCallerRemoteBatch();
  stats->arena_reserved_bytes = arena_.size_bytes();
  stats->arena_spans_ever_used = arena_.spans_ever_used();
  stats->span_cache_bytes = pool_.cached_bytes();
  {
    SpinLockGuard guard(large_.lock());
    stats->large_objects = large_.live_count();
    stats->large_bytes = large_.live_bytes();
    stats->large_cache_bytes = large_.cached_bytes();
  }
  for (size_t c = 0; c < kNumClasses; ++c) stats->classes[c].block_bytes = ClassToSize(c);
  for (uint32_t i = 0; i < arena_.spans_ever_used(); ++i) {
    SpanMeta* span = arena_.Meta(i);
    RemoteWord word(span->remote.load(std::memory_order_acquire));
    uint32_t block_bytes = span->block_bytes;
    if (word.state() == SpanState::kFree || block_bytes == 0) {
      ++stats->spans_free;
      continue;
    }
    ClassStats& cls = stats->classes[span->class_id < kNumClasses ? span->class_id : 0];
    cls.committed_bytes += kSizeClassInfo[span->class_id % kNumClasses].real_span_bytes;
    uint64_t free_blocks = word.count();
    switch (word.state()) {
      case SpanState::kHot:
        ++cls.spans_hot;
        // The owner's local list is private; count never-used blocks only (a snapshot, not exact).
        free_blocks += UnusedFreshBlocks(span);
        break;
      case SpanState::kFloating:
        ++cls.spans_floating;
        free_blocks += span->unbumped_blocks.load(std::memory_order_relaxed);
        break;
      case SpanState::kReusable:
        ++cls.spans_reusable;
        free_blocks += span->unbumped_blocks.load(std::memory_order_relaxed);
        break;
      case SpanState::kFree:
        break;
    }
    if (free_blocks > span->num_blocks) free_blocks = span->num_blocks;
    cls.blocks_free += free_blocks;
    cls.blocks_in_use += span->num_blocks - free_blocks;
  }

  for (size_t c = 0; c < kNumClasses; ++c) {
    stats->classes[c].allocated_total = retired_allocated_[c].load(std::memory_order_relaxed);
    stats->classes[c].freed_total = retired_freed_[c].load(std::memory_order_relaxed);
  }
  {
    // The owners keep counting meanwhile: a snapshot.
    SpinLockGuard guard(registry_.lock());
    registry_.ForEachInUse([&](Lab* lab) {
      ++stats->threads_bound;
      for (size_t c = 0; c < kNumClasses; ++c) {
        stats->classes[c].allocated_total += lab->allocated_blocks[c];
        stats->classes[c].freed_total += lab->freed_blocks[c];
      }
    });
  }
  stats->large_allocated_total = large_.allocated_total();
  stats->large_freed_total = large_.freed_total();
  for (ClassStats& cls : stats->classes) {
    // The counters are exact for blocks in use (the span walk cannot see owners' private free lists).
    uint64_t blocks = cls.blocks_in_use + cls.blocks_free;
    uint64_t in_use = cls.allocated_total > cls.freed_total ? cls.allocated_total - cls.freed_total : 0;
    cls.blocks_in_use = in_use < blocks ? in_use : blocks;
    cls.blocks_free = blocks - cls.blocks_in_use;
    stats->live_bytes += cls.blocks_in_use * cls.block_bytes;
    stats->committed_bytes += cls.committed_bytes;
  }
  stats->live_bytes += stats->large_bytes;
  stats->committed_bytes += stats->span_cache_bytes + stats->large_bytes + stats->large_cache_bytes;
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_ALLOCATOR_SLOW_PATHS_H_
