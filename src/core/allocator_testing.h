// Invariant walkers and test-only entry points of Allocator<P, Os>. Included by allocator.h only. All of
// these require a quiescent instance (no other thread inside it).
#ifndef SCALLOC_SRC_CORE_ALLOCATOR_TESTING_H_
#define SCALLOC_SRC_CORE_ALLOCATOR_TESTING_H_

#include "src/core/allocator.h"

namespace scalloc::internal {
namespace testing_detail {

inline bool Fail(const char* what, uint32_t span_index) {
  char storage[160];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: invariant violated: ").Append(what).Append(" (span ").AppendDecimal(span_index);
  text.Append(")\n");
  LogMessage(text.CString());
  return false;
}

}  // namespace testing_detail

template <AllocatorPolicy P, class Os>
bool Allocator<P, Os>::IsValidForTesting() {
  using testing_detail::Fail;
  if (!initialized()) return true;
  FlushCallerRemoteBatch();
  // Reusable lists: every member is reusable, of the list's class, doubly linked consistently.
  uint32_t listed = 0;
  for (size_t c = 0; c < kNumClasses; ++c) {
    uint32_t prev = kNoIndex, length = 0;
    for (uint32_t i = class_lists_[c].head; i != kNoIndex; i = arena_.Meta(i)->list_next) {
      SpanMeta* span = arena_.Meta(i);
      if (RemoteWord(span->remote.load()).state() != SpanState::kReusable) return Fail("listed, not reusable", i);
      if (span->class_id != c) return Fail("listed in the wrong class", i);
      if (span->list_prev != prev) return Fail("reusable list back link", i);
      if (++length > arena_.num_spans()) return Fail("reusable list cycle", i);
      prev = i;
    }
    if (length != class_lists_[c].length) return Fail("reusable list length", static_cast<uint32_t>(c));
    listed += length;
  }
  // LABs: hot slots point at hot spans they own.
  bool labs_ok = true;
  registry_.ForEachInUse([&](Lab* lab) {
    for (size_t c = 0; c < kNumClasses && labs_ok; ++c) {
      SpanMeta* span = lab->hot[c];
      if (span == &kEmptySpan) continue;
      uint32_t i = arena_.IndexOf(span);
      if (RemoteWord(span->remote.load()).state() != SpanState::kHot || span->owner.load() != lab ||
          span->class_id != c) {
        labs_ok = Fail("LAB slot does not hold its hot span", i);
      }
    }
  });
  if (!labs_ok) return false;
  // Spans.
  uint32_t reusable = 0;
  for (uint32_t i = 0; i < arena_.spans_ever_used(); ++i) {
    SpanMeta* span = arena_.Meta(i);
    RemoteWord word(span->remote.load());
    const uintptr_t start = arena_.SpanStart(i);
    if (word.state() == SpanState::kFree) {
      if (span->block_bytes != 0) return Fail("free span keeps a class", i);
      if constexpr (P::kDetectDoubleFree) {
        for (uint32_t g = 0; g < kBitmapWordsPerSpan; ++g) {
          if (arena_.OwnerToggleWord(i, g)[0].load() != 0 || arena_.OwnerToggleWord(i, g)[1].load() != 0) {
            return Fail("free span has allocation bits", i);
          }
        }
      }
      continue;
    }
    if (span->class_id >= kNumClasses) return Fail("bad class id", i);
    const SizeClassInfo& info = kSizeClassInfo[span->class_id];
    if (span->block_bytes != info.block_bytes || span->num_blocks != info.num_blocks) {
      return Fail("class fields disagree with the table", i);
    }
    if (span->bump < start || span->bump > span->bump_end ||
        span->bump_end != start + uintptr_t{info.num_blocks} * info.block_bytes) {
      return Fail("bump range", i);
    }
    if constexpr (P::kSpanChecksum) {
      if (span->checksum != SpanChecksum(span, start)) return Fail("checksum", i);
    }
    // Hardened: the blocks a hot span's open window of fresh blocks still lists (bit d - 1: the block d blocks
    // below the bump pointer), never used and on no list.
    uint32_t window_listed = 0;
    if (word.state() == SpanState::kHot && span->owner.load() != nullptr) {
      const uint32_t window = span->owner.load()->fresh_window[span->class_id];
      if (window != 0 && !P::kRandomizeFreshBlocks) return Fail("fresh window in the fast mode", i);
      for (uint32_t w = window; w != 0; w = FreshWindow::AfterTakingOne(w)) {
        const uint32_t distance = FreshWindow::NextDistance(w);
        if (distance > kFreshWindowBlocks || uintptr_t{distance} * span->block_bytes > span->bump - start ||
            ((window_listed >> (distance - 1)) & 1)) {
          return Fail("fresh window does not fit the span", i);
        }
        window_listed |= 1u << (distance - 1);
      }
    }
    // Walk a list, checking links; returns the length or UINT32_MAX on a bad link.
    auto walk = [&](void* head) -> uint32_t {
      uint32_t n = 0;
      for (void* block = head; block != nullptr; block = codec_.Load(block)) {
        uintptr_t a = reinterpret_cast<uintptr_t>(block);
        if (!IsValidLink(a, start, span->block_bytes, span->num_blocks, span->div_magic)) return UINT32_MAX;
        if (a >= span->bump) return UINT32_MAX;  // a never-used block cannot be on a list
        const uintptr_t below_bump = (span->bump - a) / span->block_bytes;
        if (below_bump <= kFreshWindowBlocks && ((window_listed >> (below_bump - 1)) & 1)) return UINT32_MAX;
        if constexpr (P::kDetectDoubleFree) {
          // A listed block is free: its toggle bits agree.
          if (IsLiveBlock(span, BlockIndex(span, a - start))) return UINT32_MAX;
        }
        if (++n > span->num_blocks) return UINT32_MAX;
      }
      return n;
    };
    uint32_t remote = walk(HeadPointer(span, word.head()));
    if (remote == UINT32_MAX || remote != word.count()) return Fail("remote list", i);
    // Blocks waiting in other threads' remote batches are free but on no list yet: the span's state follows
    // the blocks its remote word knows about, the allocation bits follow every free.
    const uint32_t batched = BatchedBlocksForTesting(span);
    uint32_t free_blocks = remote;
    const uint32_t unbumped = UnusedFreshBlocks(span);
    if (word.state() == SpanState::kHot) {
      Lab* owner = span->owner.load();
      if (owner == nullptr || !owner->in_use.load(std::memory_order_relaxed) || owner->hot[span->class_id] != span) {
        return Fail("hot span without its LAB", i);
      }
      uint32_t local = walk(span->free_list);
      if (local == UINT32_MAX) return Fail("local free list", i);
      free_blocks += local + unbumped;
    } else {
      if (span->owner.load() != nullptr || span->free_list != nullptr) return Fail("unowned span with owner", i);
      if (span->unbumped_blocks.load() != unbumped) return Fail("unbumped count", i);
      free_blocks += unbumped;
      if (free_blocks >= span->num_blocks) return Fail("empty span not returned to the pool", i);
      uint32_t in_use = span->num_blocks - free_blocks;
      if (word.state() == SpanState::kFloating && in_use < span->reuse_limit_blocks) {
        return Fail("floating span below the reuse threshold", i);
      }
      if (word.state() == SpanState::kReusable) ++reusable;
    }
    free_blocks += batched;
    if (free_blocks > span->num_blocks) return Fail("more free blocks than blocks", i);
    if constexpr (P::kDetectDoubleFree) {
      uint32_t bits = 0;
      for (uint32_t g = 0; g < kBitmapWordsPerSpan; ++g) {
        uint64_t live = arena_.OwnerToggleWord(i, g)[0].load() ^ arena_.OwnerToggleWord(i, g)[1].load();
        bits += static_cast<uint32_t>(__builtin_popcountll(live));
      }
      if (bits != span->num_blocks - free_blocks) return Fail("bitmap disagrees with free lists", i);
    }
  }
  if (reusable != listed) return Fail("reusable spans missing from their lists", reusable);
  return true;
}

template <AllocatorPolicy P, class Os>
uint32_t Allocator<P, Os>::BatchedBlocksForTesting(const SpanMeta* span) {
  uint32_t n = 0;
  registry_.ForEachInUse([&](Lab* lab) {
    for (const RemoteBatch& batch : lab->remote_batches) {
      if (batch.span == span) n += batch.count;
    }
  });
  return n;
}

template <AllocatorPolicy P, class Os>
size_t Allocator<P, Os>::LiveBytesForTesting() {
  if (!initialized()) return 0;
  FlushCallerRemoteBatch();
  size_t live = large_.live_bytes();
  for (uint32_t i = 0; i < arena_.spans_ever_used(); ++i) {
    SpanMeta* span = arena_.Meta(i);
    RemoteWord word(span->remote.load());
    if (word.state() == SpanState::kFree) continue;
    size_t free_blocks = word.count() + UnusedFreshBlocks(span) + BatchedBlocksForTesting(span);
    if (word.state() == SpanState::kHot) {
      for (void* block = span->free_list; block != nullptr; block = codec_.Load(block)) ++free_blocks;
    }
    live += (span->num_blocks - free_blocks) * span->block_bytes;
  }
  return live;
}

template <AllocatorPolicy P, class Os>
void Allocator<P, Os>::ReleaseAllForTesting() {
  if (!initialized()) return;
  if (tls_binding_.token == token_) tls_binding_ = ThreadBinding{};
  Os::DeleteThreadKey(thread_key_);
  large_.ReleaseAll();
  registry_.Release();
  // ASan builds: spans still in use carry the poisoning of their free blocks; the kernel may hand the released
  // range to the next mapping (of this process's next instance, say), which must not inherit it. Retired spans
  // were cleaned by RetireSpan, and unpoisoning costs a shadow write per 8 bytes, so only live spans' blocks.
  if constexpr (kAsanBuild) {
    for (uint32_t index = 0; index < arena_.spans_ever_used(); ++index) {
      const SpanMeta* span = arena_.Meta(index);
      const uintptr_t start = arena_.SpanStart(index);
      if (span->block_bytes != 0) AsanUnpoison(reinterpret_cast<void*>(start), span->bump - start);
    }
  }
  arena_.Release();
  initialized_.store(false, std::memory_order_release);
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_ALLOCATOR_TESTING_H_
