// Lock-free LIFO stack of 32-bit indices with an ABA tag in the head word (Treiber stack).
// The links live outside the stack (the caller's metadata array), reached through the Links policy; the memory
// holding links must stay mapped for the stack's lifetime, because Pop may read a link of a node that another
// thread has just popped (the tag then makes its CAS fail).
#ifndef SCALLOC_SRC_BASE_TAGGED_INDEX_STACK_H_
#define SCALLOC_SRC_BASE_TAGGED_INDEX_STACK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace scalloc::internal {

inline constexpr uint32_t kNoIndex = 0xffffffffu;

// Links must provide: std::atomic<uint32_t>& NextOf(uint32_t index) const.
template <class Links>
class TaggedIndexStack {
 public:
  constexpr TaggedIndexStack() = default;

  void Push(const Links& links, uint32_t index) {
    uint64_t old_head = head_.load(std::memory_order_relaxed);
    uint64_t new_head;
    do {
      links.NextOf(index).store(IndexOf(old_head), std::memory_order_relaxed);
      new_head = Pack(index, TagOf(old_head) + 1);
      // Release pairs with the acquire in Pop(): whoever pops `index` sees everything written to it before.
    } while (!head_.compare_exchange_weak(old_head, new_head, std::memory_order_release, std::memory_order_relaxed));
  }

  // Returns kNoIndex when empty.
  uint32_t Pop(const Links& links) {
    uint64_t old_head = head_.load(std::memory_order_acquire);
    for (;;) {
      uint32_t index = IndexOf(old_head);
      if (index == kNoIndex) return kNoIndex;
      uint32_t next = links.NextOf(index).load(std::memory_order_relaxed);
      uint64_t new_head = Pack(next, TagOf(old_head) + 1);
      // Acquire pairs with the release in Push().
      if (head_.compare_exchange_weak(old_head, new_head, std::memory_order_acquire, std::memory_order_acquire)) {
        return index;
      }
    }
  }

  // Number of entries; only meaningful while no thread pushes or pops (tests, invariant walkers).
  size_t CountQuiescent(const Links& links) const {
    size_t n = 0;
    for (uint32_t i = IndexOf(head_.load(std::memory_order_acquire)); i != kNoIndex;
         i = links.NextOf(i).load(std::memory_order_relaxed)) {
      ++n;
    }
    return n;
  }

  bool IsEmpty() const { return IndexOf(head_.load(std::memory_order_relaxed)) == kNoIndex; }
  void Reset() { head_.store(Pack(kNoIndex, 0), std::memory_order_relaxed); }

 private:
  static constexpr uint64_t Pack(uint32_t index, uint32_t tag) { return (uint64_t{tag} << 32) | index; }
  static constexpr uint32_t IndexOf(uint64_t word) { return static_cast<uint32_t>(word); }
  static constexpr uint32_t TagOf(uint64_t word) { return static_cast<uint32_t>(word >> 32); }

  std::atomic<uint64_t> head_{Pack(kNoIndex, 0)};
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_TAGGED_INDEX_STACK_H_
