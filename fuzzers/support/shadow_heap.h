// ShadowHeap: the reference model a trace is checked against. Per slot it knows whether a block is live, its
// request, usable size and alignment, and which bytes of it have a known value. Plain C++ containers only; heap
// memory is touched only through the pointers the runner passes to WriteFill and FindMismatch.
#ifndef SCALLOC_FUZZERS_SUPPORT_SHADOW_HEAP_H_
#define SCALLOC_FUZZERS_SUPPORT_SHADOW_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzzers/support/fuzz_check.h"
#include "fuzzers/support/op_stream.h"

namespace scalloc::fuzzing {

// Contents are modelled byte by byte up to this offset; beyond it (large blocks) by a single description, so a
// 4 MiB block costs no 4 MiB of shadow. Fills that reach past it are widened to the end of the block.
inline constexpr size_t kExactShadowBytes = 64 * 1024;

struct ShadowBlock {
  enum class Tail : uint8_t { kUnknown, kZero, kPattern };

  bool live = false;
  size_t request = 0;    // what the trace asked for (calloc: count * size; after realloc: the new size)
  size_t usable = 0;     // what the allocators reported (they must agree)
  size_t alignment = 0;  // the aligned-allocation request, 0 for malloc/calloc/realloc results
  // Bytes below kExactShadowBytes (both sized min(usable, kExactShadowBytes)): value[i] is byte i where known[i]
  // is 0xff; where known[i] is 0 the byte is undefined.
  std::vector<uint8_t> value;
  std::vector<uint8_t> known;
  // Bytes [kExactShadowBytes, tail_known_end) are zero or the fill pattern with tail_seed; the rest undefined.
  Tail tail = Tail::kUnknown;
  uint8_t tail_seed = 0;
  size_t tail_known_end = 0;
};

struct FillRange {
  size_t offset = 0;
  size_t length = 0;
};

class ShadowHeap {
 public:
  const ShadowBlock& block(size_t slot) const { return blocks_[slot]; }
  bool live(size_t slot) const { return blocks_[slot].live; }
  // Sum of usable sizes of live blocks: what LiveBytesForTesting must report.
  size_t live_usable_bytes() const { return live_usable_bytes_; }

  // A new block. `zeroed`: calloc, the first `request` bytes read as zero.
  void OnAlloc(size_t slot, size_t request, size_t usable, size_t alignment, bool zeroed) {
    ShadowBlock& b = blocks_[slot];
    SC_FUZZ_CHECK(!b.live, "shadow: slot %zu still live", slot);
    b.live = true;
    b.request = request;
    b.usable = usable;
    b.alignment = alignment;
    size_t exact = Min(usable, kExactShadowBytes);
    b.value.assign(exact, 0);
    b.known.assign(exact, 0);
    b.tail = ShadowBlock::Tail::kUnknown;
    b.tail_known_end = 0;
    if (zeroed) {
      std::memset(b.known.data(), 0xff, Min(request, exact));
      if (request > kExactShadowBytes) {
        b.tail = ShadowBlock::Tail::kZero;
        b.tail_known_end = request;
      }
    }
    live_usable_bytes_ += usable;
  }

  // realloc to `request` bytes, now `usable`: the first min(request, old usable) bytes carry over.
  void OnRealloc(size_t slot, size_t request, size_t usable) {
    ShadowBlock& b = blocks_[slot];
    SC_FUZZ_CHECK(b.live, "shadow: realloc of empty slot %zu", slot);
    size_t kept = Min(request, b.usable);
    live_usable_bytes_ -= b.usable;
    live_usable_bytes_ += usable;
    size_t exact = Min(usable, kExactShadowBytes);
    size_t kept_exact = Min(kept, exact);
    b.value.resize(exact, 0);
    b.known.resize(exact, 0);
    std::memset(b.known.data() + kept_exact, 0, exact - kept_exact);
    if (kept > kExactShadowBytes && b.tail != ShadowBlock::Tail::kUnknown) {
      b.tail_known_end = Min(b.tail_known_end, kept);
    } else {
      b.tail = ShadowBlock::Tail::kUnknown;
      b.tail_known_end = 0;
    }
    b.request = request;
    b.usable = usable;
    b.alignment = 0;  // the block now counts as a plain allocation (free_sized rules)
  }

  void OnFree(size_t slot) {
    ShadowBlock& b = blocks_[slot];
    SC_FUZZ_CHECK(b.live, "shadow: free of empty slot %zu", slot);
    live_usable_bytes_ -= b.usable;
    b = ShadowBlock();
  }

  // The byte range a fill op covers: proportional to the block, widened to the block's end when it reaches the
  // coarse tail model.
  FillRange RangeOf(size_t slot, uint16_t offset_fraction, uint16_t length_fraction) const {
    const ShadowBlock& b = blocks_[slot];
    FillRange range;
    range.offset = static_cast<size_t>((static_cast<unsigned __int128>(offset_fraction) * b.usable) >> 16);
    size_t rest = b.usable - range.offset;
    range.length = static_cast<size_t>(((static_cast<unsigned __int128>(length_fraction) + 1) * rest + 65535) >> 16);
    if (range.length == 0 && rest > 0) range.length = 1;
    if (range.offset + range.length > kExactShadowBytes) {
      if (range.offset > kExactShadowBytes) range.offset = kExactShadowBytes;
      range.length = b.usable - range.offset;
    }
    return range;
  }

  void OnFill(size_t slot, FillRange range, uint8_t seed) {
    ShadowBlock& b = blocks_[slot];
    size_t end = range.offset + range.length;
    SC_FUZZ_CHECK(b.live && end <= b.usable, "shadow: bad fill of slot %zu", slot);
    if (range.offset < kExactShadowBytes) {
      size_t n = Min(end, kExactShadowBytes) - range.offset;
      WritePattern(b.value.data() + range.offset, range.offset, n, seed);
      std::memset(b.known.data() + range.offset, 0xff, n);
    }
    if (end > kExactShadowBytes) {
      b.tail = ShadowBlock::Tail::kPattern;
      b.tail_seed = seed;
      b.tail_known_end = end;
    }
  }

  // Writes what OnFill models into a block's memory.
  static void WriteFill(uint8_t* memory, FillRange range, uint8_t seed) {
    WritePattern(memory + range.offset, range.offset, range.length, seed);
  }

  // The first offset where `memory` (a heap's copy of the slot's block) differs from the model, or SIZE_MAX.
  SC_FUZZ_NO_COVERAGE size_t FindMismatch(size_t slot, const uint8_t* memory, uint8_t* expected_out) const {
    const ShadowBlock& b = blocks_[slot];
    const size_t exact = b.value.size();
    // Word at a time: a byte differs where (memory ^ value) & known is non-zero.
    for (size_t i = 0; i < exact; i += 8) {
      size_t n = Min(8, exact - i);
      uint64_t m = 0, v = 0, k = 0;
      if (n == 8) {  // usable sizes are multiples of 16: the common, fully inlined case
        std::memcpy(&m, memory + i, 8);
        std::memcpy(&v, b.value.data() + i, 8);
        std::memcpy(&k, b.known.data() + i, 8);
      } else {
        std::memcpy(&m, memory + i, n);
        std::memcpy(&v, b.value.data() + i, n);
        std::memcpy(&k, b.known.data() + i, n);
      }
      if (((m ^ v) & k) != 0) {
        for (size_t j = i; j < i + n; ++j) {
          if (b.known[j] != 0 && memory[j] != b.value[j]) {
            *expected_out = b.value[j];
            return j;
          }
        }
      }
    }
    if (b.tail == ShadowBlock::Tail::kUnknown) return SIZE_MAX;
    // The tail, one pattern period at a time against a generated copy.
    uint8_t expected[kPatternPeriod];
    for (size_t offset = kExactShadowBytes; offset < b.tail_known_end; offset += kPatternPeriod) {
      size_t n = Min(kPatternPeriod, b.tail_known_end - offset);
      if (b.tail == ShadowBlock::Tail::kZero) {
        std::memset(expected, 0, n);
      } else {
        WritePattern(expected, offset, n, b.tail_seed);
      }
      if (std::memcmp(memory + offset, expected, n) != 0) {
        for (size_t j = 0; j < n; ++j) {
          if (memory[offset + j] != expected[j]) {
            *expected_out = expected[j];
            return offset + j;
          }
        }
      }
    }
    return SIZE_MAX;
  }

 private:
  static size_t Min(size_t a, size_t b) { return a < b ? a : b; }

  ShadowBlock blocks_[kNumSlots];
  size_t live_usable_bytes_ = 0;
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_SHADOW_HEAP_H_
