// Component fuzzer for free-list links (src/core/free_list.h) and the remote word (src/core/span.h): encode/decode
// round trips for both policies, slot-dependence of the hardened encoding, link validation against a reference,
// and packing of the remote-list head, count, state and epoch.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzzers/support/fuzz_check.h"
#include "src/core/free_list.h"
#include "src/core/policy.h"
#include "src/core/size_classes.h"
#include "src/core/span.h"

namespace {

using namespace scalloc::internal;  // NOLINT: the components under test

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), end_(data + size) {}
  bool Has(size_t bytes) const { return static_cast<size_t>(end_ - data_) >= bytes; }
  uint64_t Take(size_t bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < bytes && data_ < end_; ++i) value |= uint64_t{*data_++} << (8 * i);
    return value;
  }

 private:
  const uint8_t* data_;
  const uint8_t* end_;
};

uint64_t Raw(const void* slot) {
  uint64_t raw;
  std::memcpy(&raw, slot, sizeof(raw));
  return raw;
}

// The reference for IsValidLink: null, or a block start among the span's blocks.
bool ReferenceValid(uintptr_t next, uintptr_t span_start, const SizeClassInfo& info) {
  if (next == 0) return true;
  if (next < span_start) return false;
  uintptr_t offset = next - span_start;
  return offset < uintptr_t{info.block_bytes} * info.num_blocks && offset % info.block_bytes == 0;
}

void CheckCodecs(uint64_t secret, uint64_t* slots, size_t a, size_t b, uintptr_t next, unsigned bit) {
  LinkCodec<HardenedPolicy> hardened;
  hardened.SetSecret(secret);
  LinkCodec<FastPolicy> fast;
  void* value = reinterpret_cast<void*>(next);

  fast.Store(&slots[a], value);
  SC_FUZZ_CHECK(Raw(&slots[a]) == next, "fast links are stored plainly");
  SC_FUZZ_CHECK(fast.Load(&slots[a]) == value, "fast round trip");

  hardened.Store(&slots[a], value);
  SC_FUZZ_CHECK(Raw(&slots[a]) == hardened.EncodeForTesting(&slots[a], next), "EncodeForTesting disagrees");
  SC_FUZZ_CHECK(hardened.Load(&slots[a]) == value, "hardened round trip of %p", value);
  if (a != b) {
    SC_FUZZ_CHECK(hardened.EncodeForTesting(&slots[a], next) != hardened.EncodeForTesting(&slots[b], next),
                  "two slots encode %p the same way", value);
  }
  // A flipped stored bit decodes to a link with exactly that bit flipped: the encoding hides nothing else.
  uint64_t corrupted = Raw(&slots[a]) ^ (uint64_t{1} << bit);
  std::memcpy(&slots[a], &corrupted, sizeof(corrupted));
  SC_FUZZ_CHECK(reinterpret_cast<uintptr_t>(hardened.Load(&slots[a])) == (next ^ (uint64_t{1} << bit)),
                "flipped bit %u", bit);
}

void CheckValidation(size_t cls, uint64_t span_number, uint64_t offset_raw, uint8_t mode) {
  const SizeClassInfo& info = kSizeClassInfo[cls];
  uintptr_t span_start = (uintptr_t{0x100} + span_number % 0x10000) << kVirtualSpanShift;
  uintptr_t next;
  switch (mode % 4) {
    case 0:  // a block start (or just past the last block)
      next = span_start + (offset_raw % (info.num_blocks + 1)) * info.block_bytes;
      break;
    case 1:  // anywhere in the virtual span
      next = span_start + offset_raw % kVirtualSpanBytes;
      break;
    case 2:  // near the span, on either side
      next = span_start + (offset_raw % (4 * kVirtualSpanBytes)) - 2 * kVirtualSpanBytes;
      break;
    default:
      next = offset_raw;
      break;
  }
  bool valid = IsValidLink(next, span_start, info.block_bytes, info.num_blocks, info.div_magic);
  SC_FUZZ_CHECK(valid == ReferenceValid(next, span_start, info), "class %zu: link %#lx in span %#lx judged %d", cls,
                static_cast<unsigned long>(next), static_cast<unsigned long>(span_start), valid);
}

void CheckRemoteWord(uint64_t raw, uint64_t offset_raw) {
  uint32_t head = static_cast<uint32_t>(raw & ((1u << RemoteWord::kHeadBits) - 1));
  uint32_t count = static_cast<uint32_t>((raw >> 18) & ((1u << RemoteWord::kCountBits) - 1));
  auto state = static_cast<SpanState>((raw >> 34) & 3);
  uint64_t epoch = raw >> 36;
  RemoteWord word = RemoteWord::Make(head, count, state, epoch);
  SC_FUZZ_CHECK(word.head() == head && word.count() == count && word.state() == state && word.epoch() == epoch,
                "remote word does not round-trip");
  SC_FUZZ_CHECK(word.raw() == raw, "remote word layout changed");
  uintptr_t offset = (offset_raw % kVirtualSpanBytes) & ~uintptr_t{15};
  uint32_t pushed_head = RemoteWord::HeadOf(offset);
  SC_FUZZ_CHECK(pushed_head != 0 && RemoteWord::OffsetOfHead(pushed_head) == offset, "head of offset %lu",
                static_cast<unsigned long>(offset));
  if (count + 1 < (1u << RemoteWord::kCountBits)) {
    RemoteWord pushed = word.WithPush(pushed_head);
    SC_FUZZ_CHECK(pushed.head() == pushed_head && pushed.count() == count + 1 && pushed.state() == state &&
                      pushed.epoch() == epoch,
                  "push changed more than head and count");
  }
  auto other = static_cast<SpanState>((static_cast<uint32_t>(state) + 1) & 3);
  RemoteWord moved = word.WithState(other);
  SC_FUZZ_CHECK(moved.state() == other && moved.head() == head && moved.count() == count && moved.epoch() == epoch,
                "state change touched other fields");
}

}  // namespace

// Input: an 8-byte secret, then records of 26 bytes (see the reads below); a shorter tail is ignored.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  if (!in.Has(8)) return 0;
  uint64_t secret = in.Take(8);
  alignas(64) uint64_t slots[64] = {};
  while (in.Has(26)) {
    uint64_t next = in.Take(8);
    uint64_t offset_raw = in.Take(8);
    uint64_t word_raw = in.Take(8);
    uint8_t selector = static_cast<uint8_t>(in.Take(1));
    uint8_t mode = static_cast<uint8_t>(in.Take(1));
    CheckCodecs(secret, slots, selector % 64, mode % 64, static_cast<uintptr_t>(next), (selector ^ mode) % 64);
    CheckValidation(selector % kNumClasses, word_raw, offset_raw, mode);
    CheckRemoteWord(word_raw, offset_raw);
  }
  return 0;
}
