// IntervalSet: the address ranges of one heap's live blocks, ordered, so every new block is checked against its
// two neighbours for overlap in O(log n). Harness bookkeeping only.
#ifndef SCALLOC_FUZZERS_SUPPORT_INTERVAL_SET_H_
#define SCALLOC_FUZZERS_SUPPORT_INTERVAL_SET_H_

#include <cstdint>
#include <iterator>
#include <map>

namespace scalloc::fuzzing {

class IntervalSet {
 public:
  // Adds [start, end); false (and nothing added) when it overlaps a stored interval.
  bool Insert(uintptr_t start, uintptr_t end) {
    if (Overlaps(start, end)) return false;
    intervals_.emplace(start, end);
    return true;
  }

  // Removes the interval starting at `start`; false when there is none.
  bool Erase(uintptr_t start) { return intervals_.erase(start) == 1; }

  bool Overlaps(uintptr_t start, uintptr_t end) const {
    auto next = intervals_.lower_bound(start);
    if (next != intervals_.end() && next->first < end) return true;
    if (next != intervals_.begin() && std::prev(next)->second > start) return true;
    return false;
  }

  bool ContainsStart(uintptr_t start) const { return intervals_.count(start) != 0; }
  size_t size() const { return intervals_.size(); }
  void Clear() { intervals_.clear(); }

 private:
  std::map<uintptr_t, uintptr_t> intervals_;  // start -> end
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_INTERVAL_SET_H_
