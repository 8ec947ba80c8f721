// SpanPool: free virtual spans, in lock-free ABA-safe stacks partitioned by LAB (a stand-in for the core), in
// two tiers: "cached" spans keep their memory (up to span_cache_mib in total, so alloc/free cycles do not storm
// madvise) and "clean" spans have given their memory back. Get and Put are constant time for a fixed
// partition count. Thread-safe.
#ifndef SCALLOC_SRC_CORE_SPAN_POOL_H_
#define SCALLOC_SRC_CORE_SPAN_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "src/base/compiler.h"
#include "src/base/tagged_index_stack.h"
#include "src/core/arena.h"
#include "src/core/span.h"

namespace scalloc::internal {

inline constexpr unsigned kMaxPoolPartitions = 16;

template <class Os, bool kGuarded>
class SpanPool {
 public:
  constexpr SpanPool() = default;

  void Init(Arena<Os>* arena, size_t cache_limit_bytes, unsigned partitions) {
    arena_ = arena;
    cache_limit_bytes_ = cache_limit_bytes;
    partitions_ = partitions < 1 ? 1 : (partitions > kMaxPoolPartitions ? kMaxPoolPartitions : partitions);
    cached_bytes_.store(0, std::memory_order_relaxed);
    for (unsigned i = 0; i < kMaxPoolPartitions; ++i) {
      cached_[i].Reset();
      clean_[i].Reset();
    }
  }

  // A free span for `partition`: cached first (no page faults), then clean, then a never-used one.
  // Returns kNoIndex when the arena is exhausted. The span's dirty_bytes says how much of it may be resident.
  uint32_t Get(unsigned partition) {
    Links links{arena_};
    partition %= partitions_;
    for (unsigned i = 0; i < partitions_; ++i) {
      uint32_t index = cached_[(partition + i) % partitions_].Pop(links);
      if (index != kNoIndex) {
        cached_bytes_.fetch_sub(arena_->Meta(index)->dirty_bytes, std::memory_order_relaxed);
        return index;
      }
    }
    for (unsigned i = 0; i < partitions_; ++i) {
      uint32_t index = clean_[(partition + i) % partitions_].Pop(links);
      if (index != kNoIndex) return index;
    }
    return arena_->TakeFreshSpan();
  }

  // Returns a span whose blocks are all free. Keeps its memory while the cache has room, else decommits.
  void Put(uint32_t index, unsigned partition) {
    Links links{arena_};
    partition %= partitions_;
    SpanMeta* meta = arena_->Meta(index);
    size_t dirty = meta->dirty_bytes;
    if (dirty != 0 && cached_bytes_.fetch_add(dirty, std::memory_order_relaxed) + dirty <= cache_limit_bytes_) {
      cached_[partition].Push(links, index);
      return;
    }
    if (dirty != 0) cached_bytes_.fetch_sub(dirty, std::memory_order_relaxed);
    Decommit(meta, index);
    clean_[partition].Push(links, index);
  }

  // Gives the memory of every cached span back to the OS (malloc_trim). Returns the bytes released.
  size_t Trim() {
    Links links{arena_};
    size_t released = 0;
    for (unsigned p = 0; p < partitions_; ++p) {
      for (uint32_t index = cached_[p].Pop(links); index != kNoIndex; index = cached_[p].Pop(links)) {
        SpanMeta* meta = arena_->Meta(index);
        cached_bytes_.fetch_sub(meta->dirty_bytes, std::memory_order_relaxed);
        released += meta->dirty_bytes;
        Decommit(meta, index);
        clean_[p].Push(links, index);
      }
    }
    return released;
  }

  size_t cached_bytes() const { return cached_bytes_.load(std::memory_order_relaxed); }

  // Counts spans in the pool; only meaningful while no other thread uses the pool.
  size_t CountForTesting(bool cached) const {
    size_t n = 0;
    for (unsigned p = 0; p < partitions_; ++p) {
      // Walk without popping: the stacks are quiescent.
      const auto& stack = cached ? cached_[p] : clean_[p];
      n += stack.CountQuiescent(Links{arena_});
    }
    return n;
  }

 private:
  struct Links {
    Arena<Os>* arena;
    std::atomic<uint32_t>& NextOf(uint32_t index) const { return arena->Meta(index)->pool_next; }
  };

  void Decommit(SpanMeta* meta, uint32_t index) {
    if (arena_->IsSparseSpan(index)) {
      // Unmapping gives the address space back as well as the pages (sparse spans live under a limit).
      arena_->UnmapSpanTail(index, 0);
      meta->dirty_bytes = 0;
      return;
    }
    if (meta->dirty_bytes == 0) return;
    void* start = reinterpret_cast<void*>(arena_->SpanStart(index));
    if constexpr (kGuarded) {
      // The whole virtual span becomes a guard (PROT_NONE or guard markers) until it is used again.
      if (!arena_->CloseSpanRange(index, 0, meta->dirty_bytes)) {
        Os::Decommit(start, meta->dirty_bytes);
        return;  // keeps dirty_bytes: the prefix stays accessible, which Get()'s users handle
      }
    } else {
      Os::Decommit(start, meta->dirty_bytes);
    }
    meta->dirty_bytes = 0;
  }

  Arena<Os>* arena_ = nullptr;
  size_t cache_limit_bytes_ = 0;
  unsigned partitions_ = 1;
  std::atomic<size_t> cached_bytes_{0};
  TaggedIndexStack<Links> cached_[kMaxPoolPartitions];
  TaggedIndexStack<Links> clean_[kMaxPoolPartitions];
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_SPAN_POOL_H_
