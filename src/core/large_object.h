// Large objects (above the largest size class): each is its own mapping, recorded in an open-addressing hash
// table kept in its own mapping, so free/usable_size/realloc work, and a pointer that is neither in the arena nor
// in the table is known to be invalid. Guarded policies put an inaccessible page on both sides. A spin lock
// protects the table: system calls dominate these operations anyway, and none is made under the lock.
//
// Freed mappings are kept in a small cache (large_cache_mib, oldest evicted first) and serve later requests of at
// most their size, trimmed to the request, so a program that allocates and frees a multi-MiB buffer in a loop
// does not pay a fresh mapping and a page fault per page every time (4 MiB, touched, 500 times: 0.58 s, 8x
// glibc's time, without the cache). Guarded policies make a cached mapping inaccessible (its pages stay
// resident), so a use after free still faults. The tail a request does not need stays in the cache, and a freed
// mapping merges with the cached mappings it touches, so resident pages go round instead of being unmapped and
// faulted in again (blocks of 1..4 MiB replaced at random, every page written: 14x fewer page faults).
#ifndef SCALLOC_SRC_CORE_LARGE_OBJECT_H_
#define SCALLOC_SRC_CORE_LARGE_OBJECT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/base/bits.h"
#include "src/base/spin_lock.h"
#include "src/core/policy.h"
#include "src/os/os.h"

namespace scalloc::internal {

struct LargeObject {
  uintptr_t address = 0;  // what the user got; 0 = empty slot
  size_t usable_bytes = 0;
  uintptr_t map_start = 0;
  size_t map_bytes = 0;
  bool freed = false;  // a deleted slot that remembers its address, to recognise a double free
};

template <AllocatorPolicy P, class Os>
class LargeObjects {
 public:
  constexpr LargeObjects() = default;

  // Bytes of freed mappings kept for reuse; 0 turns the cache off. Before the first Alloc.
  void SetCacheLimit(size_t bytes) { cache_limit_bytes_ = bytes; }

  // Maps a large object of at least `size` bytes aligned to `alignment` (power of two); with `zeroed`, its
  // usable bytes read as zero. nullptr on failure.
  void* Alloc(size_t size, size_t alignment, bool zeroed = false) {
    size_t usable;
    // A zero-byte request (memalign with a huge alignment) still gets a page of its own: distinct pointers.
    if (!TryAlignUp(size == 0 ? 1 : size, kPageSize, &usable)) return nullptr;
    if (alignment <= kPageSize) {
      if (void* reused = TryReuseCached(usable, zeroed)) return reused;
    }
    const size_t slack = alignment > kPageSize ? alignment : 0;
    size_t map_bytes = usable + 2 * kGuardBytes + slack;
    if (map_bytes < usable) return nullptr;
    void* map = Os::Map(map_bytes);
    // Out of address space or map count: the cached mappings are worth less than this request.
    if (map == nullptr && TrimCache() != 0) map = Os::Map(map_bytes);
    if (map == nullptr) return nullptr;
    uintptr_t start = reinterpret_cast<uintptr_t>(map);
    uintptr_t user = AlignUp(start + kGuardBytes, alignment < kPageSize ? kPageSize : alignment);
    // Trim the alignment slack so only usable + guards stay mapped.
    uintptr_t keep_start = user - kGuardBytes, keep_end = user + usable + kGuardBytes;
    if (keep_start > start) Os::Release(map, keep_start - start);
    if (start + map_bytes > keep_end) Os::Release(reinterpret_cast<void*>(keep_end), start + map_bytes - keep_end);
    if constexpr (P::kGuardLargeObjects) {
      // Revoke, not Protect: the guard pages of a fresh mapping were never touched, so there is nothing to discard
      // (Protect's madvise was two of the four and a half system calls per replaced block of large_churn).
      if (!Os::Revoke(reinterpret_cast<void*>(keep_start), kGuardBytes) ||
          !Os::Revoke(reinterpret_cast<void*>(user + usable), kGuardBytes)) {
        Os::Release(reinterpret_cast<void*>(keep_start), keep_end - keep_start);
        return nullptr;
      }
    }
    return Record(LargeObject{user, usable, keep_start, keep_end - keep_start});
  }

  enum class FreeResult { kFreed, kAlreadyFreed, kUnknown };

  // kAlreadyFreed / kUnknown: nothing was done (the caller reports it).
  // `usable_bytes` receives the object's usable size (also for an already freed one).
  FreeResult Free(uintptr_t address, size_t* usable_bytes) {
    LargeObject object;
    {
      SpinLockGuard lock(lock_);
      const LargeObject* found = FindLocked(address);
      if (found == nullptr) return FreeResult::kUnknown;
      *usable_bytes = found->usable_bytes;
      if (found->freed) return FreeResult::kAlreadyFreed;
      RemoveLocked(address, &object);
      live_bytes_ -= object.usable_bytes;
      live_count_.fetch_sub(1, std::memory_order_relaxed);
      ++freed_total_;
    }
    Retire(object);
    return FreeResult::kFreed;
  }

  // Whether `address` points into a live object past its start (the report of a bad free names it). Scans the
  // whole table: for error paths only.
  bool IsInteriorOfLiveObject(uintptr_t address) {
    SpinLockGuard lock(lock_);
    for (size_t i = 0; i < capacity_; ++i) {
      const LargeObject& object = table_[i];
      if (IsLive(object) && address > object.address && address - object.address < object.usable_bytes) return true;
    }
    return false;
  }

  // 0 when `address` is not a live large object.
  size_t UsableSize(uintptr_t address) {
    SpinLockGuard lock(lock_);
    const LargeObject* object = FindLocked(address);
    return object == nullptr || object->freed ? 0 : object->usable_bytes;
  }

  // Grows or shrinks an object by moving its pages (mremap) instead of copying them. Guarded objects move
  // into a fresh reservation whose first and last pages stay inaccessible, so the guards survive. Returns
  // nullptr (object unchanged) when the kernel refuses.
  void* TryRemap(uintptr_t address, size_t new_size) {
    size_t usable;
    if (!TryAlignUp(new_size == 0 ? 1 : new_size, kPageSize, &usable)) return nullptr;
    if (usable + 2 * kGuardBytes < usable) return nullptr;
    LargeObject object;
    {
      SpinLockGuard lock(lock_);
      if (!RemoveLocked(address, &object)) return nullptr;
    }
    void* moved = nullptr;
    if constexpr (P::kGuardLargeObjects) {
      void* region = Os::Reserve(usable + 2 * kGuardBytes, kPageSize, /*accessible=*/false);
      if (region != nullptr) {
        void* target = static_cast<char*>(region) + kGuardBytes;
        if (Os::MoveMapping(reinterpret_cast<void*>(object.address), object.usable_bytes, usable, target)) {
          moved = target;
          // The guards, and whatever tail a reused cached mapping kept past the object.
          const uintptr_t object_end = object.address + object.usable_bytes;
          Os::Release(reinterpret_cast<void*>(object.map_start), kGuardBytes);
          Os::Release(reinterpret_cast<void*>(object_end), object.map_start + object.map_bytes - object_end);
        } else {
          Os::Release(region, usable + 2 * kGuardBytes);
        }
      }
    } else {
      moved = Os::Remap(reinterpret_cast<void*>(object.map_start), object.map_bytes, usable);
    }
    SpinLockGuard lock(lock_);
    if (moved == nullptr) {
      InsertLocked(object);  // cannot fail: the slot it just left is free
      return nullptr;
    }
    live_bytes_ += usable - object.usable_bytes;
    uintptr_t user = reinterpret_cast<uintptr_t>(moved);
    LargeObject updated{user, usable, user - kGuardBytes, usable + 2 * kGuardBytes};
    if (!InsertLocked(updated)) {
      live_bytes_ -= usable;
      live_count_.fetch_sub(1, std::memory_order_relaxed);
      Os::Release(reinterpret_cast<void*>(user - kGuardBytes), usable + 2 * kGuardBytes);
      return nullptr;
    }
    return moved;
  }

  // The small-object heap took `bytes` of memory it did not have resident before. A cached mapping is worth its
  // memory only while the heap does not grow past it: once the heap has grown by a mapping's size since it was
  // cached, and no request took it meanwhile, the mapping goes back to the OS. (A program that frees a big buffer
  // and goes on allocating small objects would otherwise hold both, as frag did with its 13 MiB pointer array:
  // final RSS 405 -> 418 MiB. A program that reuses its buffers between small-heap growth keeps them.)
  void NoteHeapGrowth(size_t bytes) {
    CachedMapping expired[kCacheSlots];
    size_t expired_count = 0;
    {
      SpinLockGuard lock(lock_);
      heap_growth_bytes_ += bytes;
      for (size_t i = 0; i < cache_count_;) {
        if (heap_growth_bytes_ - cache_[i].heap_growth_at_retire >= cache_[i].map_bytes) {
          expired[expired_count++] = TakeCachedLocked(i);
        } else {
          ++i;
        }
      }
    }
    ReleaseMappings(expired, expired_count);
  }

  // Unmaps the cached mappings (malloc_trim). Returns the bytes released.
  size_t TrimCache() {
    CachedMapping taken[kCacheSlots];
    size_t count;
    {
      SpinLockGuard lock(lock_);
      count = cache_count_;
      for (size_t i = 0; i < count; ++i) taken[i] = cache_[i];
      cache_count_ = 0;
      cache_bytes_.store(0, std::memory_order_relaxed);
    }
    return ReleaseMappings(taken, count);
  }

  // Unmaps every object, the cache and the table (tests).
  void ReleaseAll() {
    TrimCache();
    SpinLockGuard lock(lock_);
    for (size_t i = 0; i < capacity_; ++i) {
      if (IsLive(table_[i])) Os::Release(reinterpret_cast<void*>(table_[i].map_start), table_[i].map_bytes);
    }
    if (table_ != nullptr) Os::Release(table_, capacity_ * sizeof(LargeObject));
    table_ = nullptr;
    capacity_ = used_slots_ = live_bytes_ = 0;
    live_count_.store(0, std::memory_order_relaxed);
  }

  size_t live_bytes() const { return live_bytes_; }
  // Read without the lock (a hint) by the span allocation path.
  size_t cached_bytes() const { return cache_bytes_.load(std::memory_order_relaxed); }
  // Written under the lock; read without it too (a racy count is good enough for the allocator's policy).
  size_t live_count() const { return live_count_.load(std::memory_order_relaxed); }
  uint64_t allocated_total() const { return allocated_total_; }
  uint64_t freed_total() const { return freed_total_; }
  SpinLock& lock() { return lock_; }

 private:
  static bool IsLive(const LargeObject& slot) { return slot.address != 0 && !slot.freed; }
  static constexpr size_t kInitialCapacity = 256;  // a power of two (the probe masks with capacity - 1)
  static constexpr size_t kGuardBytes = P::kGuardLargeObjects ? kPageSize : 0;
  static constexpr size_t kCacheSlots = 8;
  // A trimmed tail of at least this many bytes goes back to the cache. One too short to hold a large object still
  // merges back into the object's mapping when the object is freed, so its resident pages serve the next request
  // instead of being unmapped (large_churn_touch: 37,800 -> 4,700 page faults, with the threshold at a large
  // object's size instead of 16 pages). A shorter tail is not worth a cache slot.
  static constexpr size_t kMinCachedBytes = 16 * kPageSize + 2 * kGuardBytes;

  // A freed mapping: [map_start, map_start + map_bytes), guards included (guarded policies: all inaccessible).
  struct CachedMapping {
    uintptr_t map_start = 0;
    size_t map_bytes = 0;
    uint64_t heap_growth_at_retire = 0;  // heap_growth_bytes_ when it was cached
    size_t usable_bytes() const { return map_bytes - 2 * kGuardBytes; }
  };

  // Enters a mapped object in the table. nullptr (the mapping released) when the table cannot grow.
  void* Record(const LargeObject& object) {
    SpinLockGuard lock(lock_);
    if (!InsertLocked(object)) {
      Os::Release(reinterpret_cast<void*>(object.map_start), object.map_bytes);
      return nullptr;
    }
    live_bytes_ += object.usable_bytes;
    live_count_.fetch_add(1, std::memory_order_relaxed);
    ++allocated_total_;
    return reinterpret_cast<void*>(object.address);
  }

  // A cached mapping made into an object of `usable` bytes: the smallest with room for them, trimmed; else (fast
  // policy) the largest with at least half of them, grown in place or moved by mremap (its resident pages come
  // along, so a buffer whose size creeps up does not fault its pages in again). nullptr when neither exists.
  //
  // Guarded policies do not grow: the guards and the object are separate kernel mappings, mremap moves one, and
  // moving the object into a fresh reservation with new guards made every later mprotect of the mapping walk the
  // page tables the move had filled (large_churn 0.14 -> 0.27 s, for 0.16 -> 0.12 s on large_churn_touch).
  void* TryReuseCached(size_t usable, bool zeroed) {
    CachedMapping entry;
    {
      SpinLockGuard lock(lock_);
      size_t fits = kCacheSlots, largest = kCacheSlots;
      for (size_t i = 0; i < cache_count_; ++i) {
        const size_t bytes = cache_[i].usable_bytes();
        if (bytes >= usable && (fits == kCacheSlots || bytes < cache_[fits].usable_bytes())) fits = i;
        if (bytes < usable && (largest == kCacheSlots || bytes > cache_[largest].usable_bytes())) largest = i;
      }
      const bool grow = fits == kCacheSlots && !P::kGuardLargeObjects && largest != kCacheSlots &&
                        cache_[largest].usable_bytes() >= usable / 2;
      if (fits == kCacheSlots && !grow) return nullptr;
      entry = TakeCachedLocked(grow ? largest : fits);
    }
    if (entry.usable_bytes() < usable) {
      void* grown = Os::Remap(reinterpret_cast<void*>(entry.map_start), entry.map_bytes, usable);
      if (grown == nullptr) {
        // The kernel refuses to grow a range made of more than one mapping (cached neighbours that merged) or
        // with no address space left: the request maps afresh, and the resident pages stay cached (Alloc trims
        // the cache if the fresh mapping fails too).
        Cache(entry);
        return nullptr;
      }
      entry = CachedMapping{reinterpret_cast<uintptr_t>(grown), usable};
    }
    const uintptr_t user = entry.map_start + kGuardBytes;
    if constexpr (P::kGuardLargeObjects) {
      if (!Os::Commit(reinterpret_cast<void*>(user), usable)) {
        Os::Release(reinterpret_cast<void*>(entry.map_start), entry.map_bytes);
        return nullptr;
      }
    }
    // What lies past the request stays inaccessible (guarded policies: a guard of a page or more) and unused. A
    // tail of kMinCachedBytes or more goes back to the cache, with guards of its own: splitting it off costs no
    // system call (it is still mapped, and guarded policies never made it accessible). A shorter
    // tail of up to a quarter of the request stays mapped with the object: unmapping it would cost a system call
    // and a TLB shootdown on every other core for little memory. A longer one goes.
    uintptr_t keep_end = entry.map_start + entry.map_bytes;
    const uintptr_t min_end = user + usable + kGuardBytes;
    CachedMapping tail{min_end, keep_end - min_end};
    if (tail.map_bytes >= kMinCachedBytes) {
      keep_end = min_end;
    } else {
      tail.map_bytes = 0;
      if (keep_end - min_end > usable / 4) {
        Os::Release(reinterpret_cast<void*>(min_end), keep_end - min_end);
        keep_end = min_end;
      }
    }
    if (zeroed) std::memset(reinterpret_cast<void*>(user), 0, usable);
    void* object = Record(LargeObject{user, usable, entry.map_start, keep_end - entry.map_start});
    if (tail.map_bytes != 0) Cache(tail);
    return object;
  }

  // A freed object's mapping goes to the cache (the oldest entries make room) or back to the OS.
  void Retire(const LargeObject& object) {
    CachedMapping entry{object.map_start, object.map_bytes};
    if (entry.map_bytes > cache_limit_bytes_) {
      Os::Release(reinterpret_cast<void*>(entry.map_start), entry.map_bytes);
      return;
    }
    if constexpr (P::kGuardLargeObjects) {
      // Inaccessible before it is published: another thread may take it from the cache at once.
      if (!Os::Revoke(reinterpret_cast<void*>(object.address), object.usable_bytes)) {
        Os::Release(reinterpret_cast<void*>(entry.map_start), entry.map_bytes);
        return;
      }
    }
    Cache(entry);
  }

  // Publishes a mapping that nothing uses (guarded policies: all of it inaccessible) in the cache, merged with the
  // cached mappings on either side of it; the oldest entries make room. What the limit cannot hold goes back to
  // the OS.
  void Cache(CachedMapping entry) {
    CachedMapping evicted[kCacheSlots + 1];
    size_t evicted_count = 0;
    {
      SpinLockGuard lock(lock_);
      // Entries never overlap, so at most one lies on each side. A merged entry is one range of the address
      // space: munmap, mprotect and madvise take it whole (mremap needs one kernel mapping, and a grow that the
      // kernel refuses falls back to a fresh mapping). No merge makes an entry larger than the limit, which
      // would evict it whole where the entries apart lose only the oldest.
      for (size_t i = 0; i < cache_count_;) {
        const CachedMapping& cached = cache_[i];
        if ((cached.map_start + cached.map_bytes == entry.map_start ||
             entry.map_start + entry.map_bytes == cached.map_start) &&
            cached.map_bytes + entry.map_bytes <= cache_limit_bytes_) {
          const CachedMapping neighbour = TakeCachedLocked(i);
          entry.map_start = neighbour.map_start < entry.map_start ? neighbour.map_start : entry.map_start;
          entry.map_bytes += neighbour.map_bytes;
          i = 0;
        } else {
          ++i;
        }
      }
      if (entry.map_bytes > cache_limit_bytes_) {
        evicted[evicted_count++] = entry;
      } else {
        while (cache_count_ == kCacheSlots || cached_bytes() + entry.map_bytes > cache_limit_bytes_) {
          evicted[evicted_count++] = TakeCachedLocked(0);
        }
        entry.heap_growth_at_retire = heap_growth_bytes_;
        cache_[cache_count_++] = entry;
        cache_bytes_.store(cached_bytes() + entry.map_bytes, std::memory_order_relaxed);
      }
    }
    ReleaseMappings(evicted, evicted_count);
  }

  // Unmaps mappings taken out of the cache (outside the lock). Returns the bytes released.
  static size_t ReleaseMappings(const CachedMapping* mappings, size_t count) {
    size_t released = 0;
    for (size_t i = 0; i < count; ++i) {
      Os::Release(reinterpret_cast<void*>(mappings[i].map_start), mappings[i].map_bytes);
      released += mappings[i].map_bytes;
    }
    return released;
  }

  // Removes cache entry `i`, keeping the others oldest first.
  CachedMapping TakeCachedLocked(size_t i) {
    CachedMapping entry = cache_[i];
    for (size_t j = i + 1; j < cache_count_; ++j) cache_[j - 1] = cache_[j];
    --cache_count_;
    cache_bytes_.store(cached_bytes() - entry.map_bytes, std::memory_order_relaxed);
    return entry;
  }

  size_t SlotOf(uintptr_t address) const {
    return static_cast<size_t>(((address >> 12) * 0x9e3779b97f4a7c15ull) >> 20) & (capacity_ - 1);
  }

  const LargeObject* FindLocked(uintptr_t address) const {
    if (capacity_ == 0 || address == 0) return nullptr;
    for (size_t i = SlotOf(address), probes = 0; probes < capacity_; i = (i + 1) & (capacity_ - 1), ++probes) {
      if (table_[i].address == address) return &table_[i];
      if (table_[i].address == 0) return nullptr;
    }
    return nullptr;
  }

  bool RemoveLocked(uintptr_t address, LargeObject* out) {
    LargeObject* slot = const_cast<LargeObject*>(FindLocked(address));
    if (slot == nullptr || slot->freed) return false;
    *out = *slot;
    slot->freed = true;
    return true;
  }

  bool InsertLocked(const LargeObject& object) {
    if ((used_slots_ + 1) * 2 > capacity_ && !GrowLocked()) return false;
    for (size_t i = SlotOf(object.address);; i = (i + 1) & (capacity_ - 1)) {
      // A freed slot is reused by the same address (it keeps its probe position) or when the probe
      // reaches an empty slot first; an empty slot is taken directly.
      if (table_[i].address == 0 || (table_[i].freed && table_[i].address == object.address)) {
        if (table_[i].address == 0) ++used_slots_;
        table_[i] = object;
        return true;
      }
    }
  }

  // Rehashes into a table twice as large (or the same size, to purge deleted slots).
  bool GrowLocked() {
    size_t live = 0;
    for (size_t i = 0; i < capacity_; ++i) live += IsLive(table_[i]);
    size_t new_capacity = capacity_ == 0 ? kInitialCapacity : capacity_;
    while ((live + 1) * 4 > new_capacity) new_capacity *= 2;
    auto* new_table = static_cast<LargeObject*>(Os::Map(new_capacity * sizeof(LargeObject)));
    if (new_table == nullptr) return false;
    LargeObject* old_table = table_;
    size_t old_capacity = capacity_;
    table_ = new_table;
    capacity_ = new_capacity;
    used_slots_ = 0;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (IsLive(old_table[i])) InsertLocked(old_table[i]);
    }
    if (old_table != nullptr) Os::Release(old_table, old_capacity * sizeof(LargeObject));
    return true;
  }

  SpinLock lock_;
  LargeObject* table_ = nullptr;
  size_t capacity_ = 0;
  size_t used_slots_ = 0;  // live + deleted
  std::atomic<size_t> live_count_{0};
  size_t live_bytes_ = 0;
  uint64_t allocated_total_ = 0;
  uint64_t freed_total_ = 0;
  CachedMapping cache_[kCacheSlots];  // oldest first
  size_t cache_count_ = 0;
  std::atomic<size_t> cache_bytes_{0};  // written under the lock
  size_t cache_limit_bytes_ = 0;
  uint64_t heap_growth_bytes_ = 0;  // NoteHeapGrowth's total, under the lock
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_LARGE_OBJECT_H_
