// The size-class table: policy independent, so both modes give the same usable size for every request.
// 16-byte steps up to 256 B, then 8 classes per power of two (internal waste <= 12.5%) up to 1 MiB.
// Each class also fixes its real-span size (see docs/size_classes.md).
#ifndef SCALLOC_SRC_CORE_SIZE_CLASSES_H_
#define SCALLOC_SRC_CORE_SIZE_CLASSES_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "src/base/bits.h"
#include "src/base/compiler.h"
#include "src/os/os.h"

namespace scalloc::internal {

inline constexpr unsigned kVirtualSpanShift = 21;
inline constexpr size_t kVirtualSpanBytes = size_t{1} << kVirtualSpanShift;  // 2 MiB
inline constexpr size_t kMinAlignment = 16;
inline constexpr size_t kNumFineClasses = 16;             // 16, 32, ..., 256
inline constexpr size_t kClassesPerDoubling = 8;          // above 256 B
inline constexpr size_t kMaxSmallSize = size_t{1} << 20;  // 1 MiB: larger requests are large objects
inline constexpr size_t kNumClasses = kNumFineClasses + kClassesPerDoubling * (20 - 8);  // 112
// Every real span holds at most this many blocks (bounds the per-span bitmap and the remote-list counter).
inline constexpr size_t kMaxBlocksPerSpan = 4096;
inline constexpr size_t kTargetRealSpanBytes = 64 * 1024;
inline constexpr size_t kMinBlocksPerSpan = 16;
// A real span ends at least this far before its virtual span does: the hardened mode's PROT_NONE guard after
// the last block (a class whose blocks would fill the 2 MiB exactly gets one block fewer).
inline constexpr size_t kMinGuardBytes = kPageSize;
inline constexpr unsigned kDivisionShift = 42;

constexpr size_t ClassToSizeUncached(size_t cls) {
  if (cls < kNumFineClasses) return (cls + 1) * 16;
  size_t b = 8 + (cls - kNumFineClasses) / kClassesPerDoubling;
  size_t k = (cls - kNumFineClasses) % kClassesPerDoubling;
  return (size_t{1} << b) + ((k + 1) << (b - 3));
}

// Slow, exact size -> class for any size <= kMaxSmallSize.
SC_ALWAYS_INLINE constexpr size_t SizeToClassUncached(size_t size) {
  if (size <= 256) return size == 0 ? 0 : (size + 15) / 16 - 1;
  size_t s = size - 1;
  size_t b = Log2Floor(s);
  return kNumFineClasses + (b - 8) * kClassesPerDoubling + ((s >> (b - 3)) & 7);
}

struct SizeClassInfo {
  uint32_t block_bytes;
  uint32_t num_blocks;
  uint32_t real_span_bytes;  // num_blocks * block_bytes rounded up to a page
  uint64_t div_magic;        // offset / block_bytes == (offset * div_magic) >> kDivisionShift, offset < 2 MiB
};

constexpr SizeClassInfo MakeSizeClassInfo(size_t cls) {
  size_t block = ClassToSizeUncached(cls);
  size_t n = kTargetRealSpanBytes / block;
  if (n < kMinBlocksPerSpan) n = kMinBlocksPerSpan;
  if (n * block > kVirtualSpanBytes - kMinGuardBytes) n = (kVirtualSpanBytes - kMinGuardBytes) / block;
  if (n > kMaxBlocksPerSpan) n = kMaxBlocksPerSpan;
  size_t real = AlignUp(n * block, kPageSize);
  uint64_t magic = ((uint64_t{1} << kDivisionShift) + block - 1) / block;
  return SizeClassInfo{static_cast<uint32_t>(block), static_cast<uint32_t>(n), static_cast<uint32_t>(real), magic};
}

inline constexpr auto kSizeClassInfo = [] {
  std::array<SizeClassInfo, kNumClasses> table{};
  for (size_t c = 0; c < kNumClasses; ++c) table[c] = MakeSizeClassInfo(c);
  return table;
}();

// Direct lookup for sizes up to 1 KiB, indexed by (size + 15) / 16: one load, no branches on the class.
inline constexpr size_t kSmallLookupMax = 1024;
inline constexpr auto kSmallSizeToClass = [] {
  std::array<uint8_t, kSmallLookupMax / 16 + 1> table{};
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<uint8_t>(SizeToClassUncached(i * 16));
  return table;
}();

// Requires size <= kSmallLookupMax.
SC_ALWAYS_INLINE size_t SmallSizeToClass(size_t size) { return kSmallSizeToClass[(size + 15) >> 4]; }

// Requires size <= kMaxSmallSize.
SC_ALWAYS_INLINE size_t SizeToClass(size_t size) {
  if (SC_LIKELY(size <= kSmallLookupMax)) return SmallSizeToClass(size);
  return SizeToClassUncached(size);
}

SC_ALWAYS_INLINE size_t ClassToSize(size_t cls) { return kSizeClassInfo[cls].block_bytes; }

// Smallest class >= size whose blocks, laid out from a span start, are all aligned to `alignment`
// (a power of two <= kMaxSmallSize). Returns kNumClasses when none exists.
constexpr size_t AlignedSizeToClass(size_t size, size_t alignment) {
  if (size > kMaxSmallSize) return kNumClasses;
  for (size_t c = SizeToClassUncached(size); c < kNumClasses; ++c) {
    if (ClassToSizeUncached(c) % alignment == 0) return c;
  }
  return kNumClasses;
}

// Table self-checks (compile time).
static_assert(ClassToSizeUncached(kNumClasses - 1) == kMaxSmallSize);
static_assert(SizeToClassUncached(kMaxSmallSize) == kNumClasses - 1);
static_assert(SizeToClassUncached(257) == 16 && ClassToSizeUncached(16) == 288);
static_assert([] {
  for (size_t c = 0; c < kNumClasses; ++c) {
    const SizeClassInfo& info = kSizeClassInfo[c];
    if (info.block_bytes % kMinAlignment != 0) return false;
    if (info.real_span_bytes > kVirtualSpanBytes || info.num_blocks == 0) return false;
    if (SizeToClassUncached(info.block_bytes) != c) return false;
    if (c > 0 && SizeToClassUncached(ClassToSizeUncached(c - 1) + 1) != c) return false;
    // Internal waste bound: the next-smaller class is at least 7/8 of this one (above 256 B).
    if (c > kNumFineClasses && ClassToSizeUncached(c - 1) * 8 < info.block_bytes * 7) return false;
    // The division magic is exact for every block start and interior offset in a virtual span.
    for (uint64_t off : {uint64_t{info.block_bytes} - 1, uint64_t{info.block_bytes}, uint64_t{kVirtualSpanBytes} - 1}) {
      if (((off * info.div_magic) >> kDivisionShift) != off / info.block_bytes) return false;
    }
  }
  return true;
}());

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_SIZE_CLASSES_H_
