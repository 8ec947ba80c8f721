// GrowableRegion: a fixed range of address space of which only a growing prefix is mapped.
//
// Address space counts against RLIMIT_AS (and shows as VSZ) even when no page of it is ever touched, and a
// process may lower that limit after it started (sandboxes do; so does glibc's tst-malloc-thread-fail), after
// which every thread stack and every mapping must still fit under it. So the arena and its metadata arrays do
// not stay mapped at their full capacity: the arena reserves one range for all of them, only to fix their
// addresses, and each region gives back all but its initial prefix at once; GrowTo maps the next part at its
// fixed address. Growth fails when another mapping took those addresses meanwhile or the system refuses; the
// caller then treats the region as full. (The kernel places new mappings top-down, in the highest gap that
// fits: they fill the given-back range of the arena's spans, the highest of its regions, from its far end.)
#ifndef SCALLOC_SRC_CORE_GROWABLE_REGION_H_
#define SCALLOC_SRC_CORE_GROWABLE_REGION_H_

#include <cstddef>
#include <cstdint>

#include "src/base/bits.h"
#include "src/base/check.h"
#include "src/core/size_classes.h"

namespace scalloc::internal {

template <class Os>
class GrowableRegion {
 public:
  constexpr GrowableRegion() = default;

  // The bytes a region occupies in its reservation: `lead` PROT_NONE bytes in front of it (a guard, or padding
  // the caller needs), its capacity and, with `trailing_guard`, the PROT_NONE page that follows the mapped prefix
  // and moves along as it grows.
  static constexpr size_t FootprintBytes(size_t lead, size_t capacity, bool trailing_guard) {
    return lead + capacity + (trailing_guard ? kPageSize : 0);
  }

  // Takes over [start - lead, start - lead + FootprintBytes(lead, capacity, trailing_guard)) of a PROT_NONE
  // reservation the caller made. Until Init it holds all of it (Release unmaps all of it); the lead stays
  // PROT_NONE for the region's life.
  void Place(uintptr_t start, size_t lead, size_t capacity, bool trailing_guard) {
    SC_CHECK(start % kPageSize == 0 && lead % kPageSize == 0 && capacity % kPageSize == 0);
    start_ = start;
    lead_ = lead;
    capacity_ = capacity;
    guard_ = trailing_guard ? kPageSize : 0;
    mapped_ = capacity;
  }

  // Makes the first `initial` bytes read-write when `accessible` (else they stay PROT_NONE), keeps the guard page
  // after them and unmaps the rest. False when the initial part cannot be made accessible (nothing given back).
  [[nodiscard]] bool Init(size_t initial, bool accessible) {
    SC_CHECK(initial <= capacity_);
    accessible_ = accessible;
    const size_t kept = AlignUp(initial, kPageSize);
    if (accessible_ && kept > 0 && !Os::Commit(reinterpret_cast<void*>(start_), kept)) return false;
    if (capacity_ > kept) Os::Release(reinterpret_cast<void*>(start_ + kept + guard_), capacity_ - kept);
    mapped_ = kept;
    return true;
  }

  // Maps the region up to `bytes` (rounded up to pages, at most the capacity). True when it is mapped that far.
  [[nodiscard]] bool GrowTo(size_t bytes) {
    if (bytes > capacity_) return false;
    const size_t target = AlignUp(bytes, kPageSize);
    if (target <= mapped_) return true;
    const size_t step = target - mapped_;
    // The new part goes after the current guard page; its own last page becomes the new guard, and the old
    // guard page becomes data.
    if (!Os::MapAt(reinterpret_cast<void*>(start_ + mapped_ + guard_), step, accessible_ && guard_ == 0)) {
      return false;
    }
    if (accessible_ && guard_ != 0 && !Os::Commit(reinterpret_cast<void*>(start_ + mapped_), step)) {
      Os::Release(reinterpret_cast<void*>(start_ + mapped_ + guard_), step);
      return false;
    }
    mapped_ = target;
    return true;
  }

  // Unmaps what the region holds (its lead, mapped prefix and guard page); never the given-back rest, which
  // other mappings may occupy by now.
  void Release() {
    if (start_ == 0) return;
    Os::Release(reinterpret_cast<void*>(start_ - lead_), lead_ + mapped_ + guard_);
    start_ = 0;
    mapped_ = 0;
    capacity_ = 0;
  }

  uintptr_t start() const { return start_; }
  bool accessible() const { return accessible_; }

 private:
  uintptr_t start_ = 0;
  size_t lead_ = 0;
  size_t capacity_ = 0;
  size_t guard_ = 0;
  size_t mapped_ = 0;
  bool accessible_ = false;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_GROWABLE_REGION_H_
