// Large objects (above the largest size class): each is its own mapping, recorded in an open-addressing hash
// table kept in its own mapping, so free/usable_size/realloc work, and a pointer that is neither in the arena nor
// in the table is known to be invalid. Guarded policies put an inaccessible page on both sides. A spin lock
// protects the table: mmap/munmap dominate these operations anyway.
#ifndef SCALLOC_SRC_CORE_LARGE_OBJECT_H_
#define SCALLOC_SRC_CORE_LARGE_OBJECT_H_

#include <cstddef>
#include <cstdint>

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

  // Maps a large object of at least `size` bytes aligned to `alignment` (power of two). nullptr on failure.
  void* Alloc(size_t size, size_t alignment) {
    size_t usable;
    // A zero-byte request (memalign with a huge alignment) still gets a page of its own: distinct pointers.
    if (!TryAlignUp(size == 0 ? 1 : size, kPageSize, &usable)) return nullptr;
    const size_t guard = P::kGuardLargeObjects ? kPageSize : 0;
    const size_t slack = alignment > kPageSize ? alignment : 0;
    size_t map_bytes = usable + 2 * guard + slack;
    if (map_bytes < usable) return nullptr;
    void* map = Os::Map(map_bytes);
    if (map == nullptr) return nullptr;
    uintptr_t start = reinterpret_cast<uintptr_t>(map);
    uintptr_t user = AlignUp(start + guard, alignment < kPageSize ? kPageSize : alignment);
    // Trim the alignment slack so only usable + guards stay mapped.
    uintptr_t keep_start = user - guard, keep_end = user + usable + guard;
    if (keep_start > start) Os::Release(map, keep_start - start);
    if (start + map_bytes > keep_end) Os::Release(reinterpret_cast<void*>(keep_end), start + map_bytes - keep_end);
    if constexpr (P::kGuardLargeObjects) {
      if (!Os::Protect(reinterpret_cast<void*>(keep_start), guard) ||
          !Os::Protect(reinterpret_cast<void*>(user + usable), guard)) {
        Os::Release(reinterpret_cast<void*>(keep_start), keep_end - keep_start);
        return nullptr;
      }
    }
    LargeObject object{user, usable, keep_start, keep_end - keep_start};
    SpinLockGuard lock(lock_);
    if (!InsertLocked(object)) {
      Os::Release(reinterpret_cast<void*>(keep_start), keep_end - keep_start);
      return nullptr;
    }
    live_bytes_ += usable;
    ++live_count_;
    ++allocated_total_;
    return reinterpret_cast<void*>(user);
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
      --live_count_;
      ++freed_total_;
    }
    Os::Release(reinterpret_cast<void*>(object.map_start), object.map_bytes);
    return FreeResult::kFreed;
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
    const size_t guard = P::kGuardLargeObjects ? kPageSize : 0;
    if (usable + 2 * guard < usable) return nullptr;
    LargeObject object;
    {
      SpinLockGuard lock(lock_);
      if (!RemoveLocked(address, &object)) return nullptr;
    }
    void* moved = nullptr;
    if constexpr (P::kGuardLargeObjects) {
      void* region = Os::Reserve(usable + 2 * guard, kPageSize, /*accessible=*/false);
      if (region != nullptr) {
        void* target = static_cast<char*>(region) + guard;
        if (Os::MoveMapping(reinterpret_cast<void*>(object.address), object.usable_bytes, usable, target)) {
          moved = target;
          Os::Release(reinterpret_cast<void*>(object.map_start), guard);
          Os::Release(reinterpret_cast<void*>(object.address + object.usable_bytes), guard);
        } else {
          Os::Release(region, usable + 2 * guard);
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
    LargeObject updated{user, usable, user - guard, usable + 2 * guard};
    if (!InsertLocked(updated)) {
      live_bytes_ -= usable;
      --live_count_;
      Os::Release(reinterpret_cast<void*>(user - guard), usable + 2 * guard);
      return nullptr;
    }
    return moved;
  }

  // Unmaps every object and the table (tests).
  void ReleaseAll() {
    SpinLockGuard lock(lock_);
    for (size_t i = 0; i < capacity_; ++i) {
      if (IsLive(table_[i])) Os::Release(reinterpret_cast<void*>(table_[i].map_start), table_[i].map_bytes);
    }
    if (table_ != nullptr) Os::Release(table_, capacity_ * sizeof(LargeObject));
    table_ = nullptr;
    capacity_ = used_slots_ = live_count_ = live_bytes_ = 0;
  }

  size_t live_bytes() const { return live_bytes_; }
  size_t live_count() const { return live_count_; }
  uint64_t allocated_total() const { return allocated_total_; }
  uint64_t freed_total() const { return freed_total_; }
  SpinLock& lock() { return lock_; }

 private:
  static bool IsLive(const LargeObject& slot) { return slot.address != 0 && !slot.freed; }
  static constexpr size_t kInitialCapacity = 256;  // a power of two (the probe masks with capacity - 1)

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
  size_t live_count_ = 0;
  size_t live_bytes_ = 0;
  uint64_t allocated_total_ = 0;
  uint64_t freed_total_ = 0;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_LARGE_OBJECT_H_
