// Address ranges that are used without being reserved. A sparse arena (Arena::TryReserveSparse) needs a range
// larger than the address-space limit, which no reservation can hold; these functions choose one the kernel
// will not place mappings in, and check that nothing is mapped there yet.
#ifndef SCALLOC_SRC_CORE_UNRESERVED_RANGE_H_
#define SCALLOC_SRC_CORE_UNRESERVED_RANGE_H_

#include <cstddef>
#include <cstdint>

#include "src/base/bits.h"
#include "src/core/size_classes.h"
#include "src/os/os.h"

namespace scalloc::internal {

// Chosen ranges stay inside [kUnreservedLowestAddress, kUnreservedHighestAddress): above the low executable and
// brk heap of a non-PIE program, below the top of a 47-bit user address space.
inline constexpr uintptr_t kUnreservedLowestAddress = uintptr_t{1} << 32;
inline constexpr uintptr_t kUnreservedHighestAddress = uintptr_t{1} << 47;

// The start (2 MiB aligned) of a range of `total` bytes that mappings the kernel places under an address-space
// limit of `limit` bytes cannot reach, or 0 when it would not fit in the address space. The kernel places a
// mapping next to existing ones, top-down below the libraries (or bottom-up in the legacy layout), and under
// the limit all of them together span less than the limit; so the range starts the limit's size beyond a probe
// mapping, on the side away from the direction the kernel goes. Two probes of `probe_bytes` tell that direction:
// the first goes to the best gap for that size, the second next to it, below it when the kernel works top-down.
// Each further `attempt` (the range was not free: mappings someone placed at fixed addresses, or an earlier
// instance's) moves one range further away.
template <class Os>
uintptr_t RangeAwayFromNewMappings(size_t probe_bytes, size_t total, size_t limit, unsigned attempt) {
  void* first = Os::Reserve(probe_bytes, kPageSize, /*accessible=*/false);
  if (first == nullptr) return 0;
  void* second = Os::Reserve(probe_bytes, kPageSize, /*accessible=*/false);
  Os::Release(first, probe_bytes);
  if (second == nullptr) return 0;
  Os::Release(second, probe_bytes);
  const auto reference = reinterpret_cast<uintptr_t>(first);
  const bool top_down = reinterpret_cast<uintptr_t>(second) < reference;
  const size_t margin = AlignUp(limit, kVirtualSpanBytes) + attempt * (AlignUp(limit, kVirtualSpanBytes) + total);
  if (top_down) {
    if (reference < kUnreservedLowestAddress + margin + total + kVirtualSpanBytes) return 0;
    return AlignDown(reference - margin - total, kVirtualSpanBytes);
  }
  const uintptr_t start = AlignUp(reference + probe_bytes + margin, kVirtualSpanBytes);
  if (start < reference || start > kUnreservedHighestAddress || kUnreservedHighestAddress - start < total) return 0;
  return start;
}

// Whether nothing is mapped in [start, start + bytes): maps it PROT_NONE piecewise (MAP_FIXED_NOREPLACE fails
// on anything there) and unmaps it again. The pieces must fit under the address-space limit beside what is
// mapped already: half the limit first, halved when a piece fails, down to 1/64 of it (a piece that fails that
// small has a mapping in it, or the limit is nearly used). Without a limit, one piece.
template <class Os>
bool RangeIsUnmapped(uintptr_t start, size_t bytes) {
  const size_t limit = Os::AddressSpaceLimit();
  const size_t smallest = limit == SIZE_MAX ? bytes : AlignUp(limit / 64, kPageSize);
  size_t piece = limit == SIZE_MAX ? bytes : AlignUp(limit / 2, kPageSize);
  for (size_t offset = 0; offset < bytes;) {
    const size_t size = bytes - offset < piece ? bytes - offset : piece;
    void* address = reinterpret_cast<void*>(start + offset);
    if (Os::MapAt(address, size, /*accessible=*/false)) {
      Os::Release(address, size);
      offset += size;
    } else if (piece / 2 >= smallest) {
      piece /= 2;
    } else {
      return false;
    }
  }
  return true;
}

// The first of `attempts` ranges RangeAwayFromNewMappings chooses that RangeIsUnmapped finds free (mappings placed
// at fixed addresses, or an earlier instance's, can lie in one), or 0.
template <class Os>
uintptr_t UnmappedRangeAwayFromNewMappings(size_t probe_bytes, size_t total, size_t limit, unsigned attempts) {
  for (unsigned attempt = 0; attempt < attempts; ++attempt) {
    const uintptr_t start = RangeAwayFromNewMappings<Os>(probe_bytes, total, limit, attempt);
    if (start == 0) return 0;
    if (RangeIsUnmapped<Os>(start, total)) return start;
  }
  return 0;
}

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_UNRESERVED_RANGE_H_
