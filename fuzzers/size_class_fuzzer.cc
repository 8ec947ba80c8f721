// Component fuzzer for the size-class table (src/core/size_classes.h): lookups against the specification, round
// trips, monotonicity, the waste bound, aligned class selection and the division magic.
#include <cstddef>
#include <cstdint>

#include "fuzzers/support/fuzz_check.h"
#include "fuzzers/support/op_stream.h"
#include "src/core/size_classes.h"

namespace {

using namespace scalloc::internal;  // NOLINT: the component under test

static_assert(kNumClasses == scalloc::fuzzing::kSpecNumClasses, "class count differs from the specification");
static_assert(kMaxSmallSize == scalloc::fuzzing::kSpecMaxSmallSize, "largest class differs from the spec");

void CheckSize(size_t size, size_t previous_size, size_t previous_class) {
  size_t cls = SizeToClass(size);
  SC_FUZZ_CHECK(cls < kNumClasses, "size %zu -> class %zu", size, cls);
  SC_FUZZ_CHECK(cls == SizeToClassUncached(size), "size %zu: table says %zu, slow path %zu", size, cls,
                SizeToClassUncached(size));
  size_t block = ClassToSize(cls);
  SC_FUZZ_CHECK(block >= size, "size %zu -> class %zu of only %zu bytes", size, cls, block);
  SC_FUZZ_CHECK(block == scalloc::fuzzing::SpecClassSize(cls), "class %zu is %zu bytes, spec says %zu", cls, block,
                scalloc::fuzzing::SpecClassSize(cls));
  SC_FUZZ_CHECK(block == scalloc::fuzzing::SpecUsableSize(size), "size %zu -> %zu bytes, spec says %zu", size, block,
                scalloc::fuzzing::SpecUsableSize(size));
  SC_FUZZ_CHECK(cls == 0 || ClassToSize(cls - 1) < size, "size %zu fits class %zu already", size, cls - 1);
  SC_FUZZ_CHECK(SizeToClass(block) == cls && block % kMinAlignment == 0, "class %zu does not round-trip", cls);
  if (size > 256) SC_FUZZ_CHECK((block - size) * 8 < block, "size %zu wastes %zu of %zu", size, block - size, block);
  if (previous_size <= size) {
    SC_FUZZ_CHECK(previous_class <= cls, "not monotonic: %zu -> %zu but %zu -> %zu", previous_size, previous_class,
                  size, cls);
  }

  const SizeClassInfo& info = kSizeClassInfo[cls];
  SC_FUZZ_CHECK(info.block_bytes == block && info.num_blocks >= 1 && info.num_blocks <= kMaxBlocksPerSpan,
                "class %zu: bad info", cls);
  SC_FUZZ_CHECK(uint64_t{info.num_blocks} * info.block_bytes <= info.real_span_bytes &&
                    info.real_span_bytes <= kVirtualSpanBytes && info.real_span_bytes % 4096 == 0,
                "class %zu: real span of %u bytes for %u blocks", cls, info.real_span_bytes, info.num_blocks);
}

void CheckDivision(size_t cls, uint64_t offset) {
  const SizeClassInfo& info = kSizeClassInfo[cls];
  offset %= kVirtualSpanBytes;
  uint64_t quotient = (offset * info.div_magic) >> kDivisionShift;
  SC_FUZZ_CHECK(quotient == offset / info.block_bytes, "class %zu: offset %llu / %u gives %llu", cls,
                static_cast<unsigned long long>(offset), info.block_bytes, static_cast<unsigned long long>(quotient));
}

void CheckAligned(size_t size, size_t alignment) {
  size_t cls = AlignedSizeToClass(size, alignment);
  size_t first = SizeToClassUncached(size);
  size_t end = cls < kNumClasses ? cls : kNumClasses;
  for (size_t c = first; c < end; ++c) {
    SC_FUZZ_CHECK(ClassToSize(c) % alignment != 0, "size %zu align %zu: class %zu was skipped", size, alignment, c);
  }
  if (cls < kNumClasses) {
    SC_FUZZ_CHECK(ClassToSize(cls) >= size && ClassToSize(cls) % alignment == 0,
                  "size %zu align %zu: class %zu of %zu bytes", size, alignment, cls, ClassToSize(cls));
  }
}

uint64_t Read(const uint8_t*& data, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= uint64_t{data[i]} << (8 * i);
  data += bytes;
  return value;
}

}  // namespace

// Input: records of 5 bytes (u32 little-endian, selector byte); a shorter tail is ignored.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t previous_size = 0, previous_class = 0;
  for (const uint8_t* end = data + size - size % 5; data < end;) {
    uint64_t raw = Read(data, 4);
    uint8_t selector = static_cast<uint8_t>(Read(data, 1));
    // Half the records stay within the fine classes and the direct lookup table, where the edges are dense.
    size_t request = (selector & 1) != 0 ? raw % (kSmallLookupMax + 1) : raw % (kMaxSmallSize + 1);
    CheckSize(request, previous_size, previous_class);
    CheckDivision(SizeToClass(request), raw * 0x9e3779b1u >> 7);
    CheckDivision(SizeToClass(request), raw);
    CheckAligned(request, size_t{1} << ((selector >> 1) % 21));
    previous_size = request;
    previous_class = SizeToClass(request);
  }
  return 0;
}
