// Links stored inside free blocks (local free lists and remote free lists share one format), and their
// validation. With P::kEncodeFreeLists a link is XORed with a per-allocator secret and a mix of the address of
// the slot that stores it, so a use-after-free write cannot point a list at memory of the attacker's choosing
// without knowing the secret; a decoded link must land on a block boundary of the same span.
#ifndef SCALLOC_SRC_CORE_FREE_LIST_H_
#define SCALLOC_SRC_CORE_FREE_LIST_H_

#include <cstdint>
#include <cstring>

#include "src/base/bits.h"
#include "src/base/compiler.h"
#include "src/core/policy.h"
#include "src/core/size_classes.h"

namespace scalloc::internal {

template <AllocatorPolicy P>
class LinkCodec {
 public:
  constexpr LinkCodec() = default;
  void SetSecret(uint64_t secret) { secret_ = secret | 1; }

  SC_ALWAYS_INLINE void Store(void* slot, void* next) const {
    uintptr_t value = reinterpret_cast<uintptr_t>(next);
    if constexpr (P::kEncodeFreeLists) value ^= Key(slot);
    std::memcpy(slot, &value, sizeof(value));
  }

  SC_ALWAYS_INLINE void* Load(const void* slot) const {
    uintptr_t value;
    std::memcpy(&value, slot, sizeof(value));
    if constexpr (P::kEncodeFreeLists) value ^= Key(slot);
    return reinterpret_cast<void*>(value);
  }

  uintptr_t EncodeForTesting(const void* slot, uintptr_t next) const {
    return P::kEncodeFreeLists ? next ^ Key(slot) : next;
  }

 private:
  SC_ALWAYS_INLINE uintptr_t Key(const void* slot) const {
    return secret_ ^ RotateLeft(reinterpret_cast<uintptr_t>(slot) * 0x9e3779b97f4a7c15ull, 23);
  }

  uint64_t secret_ = 0;
};

// True when `next` (a decoded link read from `slot`) is null or the start of a block of the same span.
// `span_start`, `block_bytes`, `num_blocks` and `div_magic` describe the slot's span.
SC_ALWAYS_INLINE bool IsValidLink(uintptr_t next, uintptr_t span_start, uint32_t block_bytes, uint32_t num_blocks,
                                  uint64_t div_magic) {
  if (next == 0) return true;
  uintptr_t offset = next - span_start;
  if (offset >= uintptr_t{block_bytes} * num_blocks) return false;
  uintptr_t index = (offset * div_magic) >> kDivisionShift;
  return index * block_bytes == offset;
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_FREE_LIST_H_
