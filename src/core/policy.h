// FastPolicy and HardenedPolicy: the compile-time switches of the allocator core, and the concept that makes every
// field mandatory (a misspelt or missing field fails to compile instead of silently defaulting).
#ifndef SCALLOC_SRC_CORE_POLICY_H_
#define SCALLOC_SRC_CORE_POLICY_H_

#include <concepts>
#include <cstddef>

namespace scalloc::internal {

template <class P>
concept AllocatorPolicy = requires {
  { P::kName } -> std::convertible_to<const char*>;
  // Links stored in free blocks are XORed with a per-process secret and their own address, and validated
  // (same span, block boundary) when decoded. Frustrates free-list poisoning after a use-after-free write.
  { P::kEncodeFreeLists } -> std::convertible_to<bool>;
  // free() checks that the pointer is the start of a block the allocator handed out (arena bounds, span in
  // use, block boundary), or a known large object. Stops frees of stack/global/interior pointers.
  { P::kValidateFree } -> std::convertible_to<bool>;
  // Out-of-line allocation bitmap per span: a block that is not allocated cannot be freed again.
  { P::kDetectDoubleFree } -> std::convertible_to<bool>;
  // The arena is PROT_NONE except the real-span prefixes in use: a linear overflow out of a span faults.
  { P::kGuardRegions } -> std::convertible_to<bool>;
  // Large objects get an inaccessible page before and after.
  { P::kGuardLargeObjects } -> std::convertible_to<bool>;
  // The biggest blocks kept in spans; the size classes above it (up to 1 MiB) are served as large objects, a
  // mapping each of exactly the class size, so their usable sizes do not change. 1 MiB: every class in spans.
  { P::kMaxSpanBlockBytes } -> std::convertible_to<size_t>;
  // Span metadata carries a checksum keyed by the secret; a corrupted header is reported, not trusted.
  { P::kSpanChecksum } -> std::convertible_to<bool>;
  // Fresh blocks of a span are handed out in random order (harder to groom a heap layout).
  { P::kRandomizeFreshBlocks } -> std::convertible_to<bool>;
  // Default of the zero_on_free runtime option (freed small blocks are cleared).
  { P::kZeroOnFreeDefault } -> std::convertible_to<bool>;
  // Sized frees (free_sized, sized delete) are checked against the block's size class.
  { P::kCheckSizedFree } -> std::convertible_to<bool>;
};

struct FastPolicy {
  static constexpr const char* kName = "fast";
  static constexpr bool kEncodeFreeLists = false;
  static constexpr bool kValidateFree = false;
  static constexpr bool kDetectDoubleFree = false;
  static constexpr bool kGuardRegions = false;
  static constexpr bool kGuardLargeObjects = false;
  static constexpr size_t kMaxSpanBlockBytes = size_t{1} << 20;
  static constexpr bool kSpanChecksum = false;
  static constexpr bool kRandomizeFreshBlocks = false;
  static constexpr bool kZeroOnFreeDefault = false;
  static constexpr bool kCheckSizedFree = false;
};

struct HardenedPolicy {
  static constexpr const char* kName = "hardened";
  static constexpr bool kEncodeFreeLists = true;
  static constexpr bool kValidateFree = true;
  static constexpr bool kDetectDoubleFree = true;
  static constexpr bool kGuardRegions = true;
  static constexpr bool kGuardLargeObjects = true;
  // Blocks above 128 KiB get the large objects' guard pages on both sides, so an overflow off the end of any of
  // them faults at once, as with glibc's mmap threshold and other hardened allocators; in a span only the last
  // block has a guard after it (a class of 256 KiB blocks holds seven of them in a span). When no mapping can
  // be made (the map count), they come from spans after all.
  static constexpr size_t kMaxSpanBlockBytes = size_t{128} << 10;
  static constexpr bool kSpanChecksum = true;
  static constexpr bool kRandomizeFreshBlocks = true;
  // Off by default: it costs a memset per free (see docs/hardening.md for the measurement); zero_on_free=1
  // turns it on at run time.
  static constexpr bool kZeroOnFreeDefault = false;
  static constexpr bool kCheckSizedFree = true;
};

static_assert(AllocatorPolicy<FastPolicy>);
static_assert(AllocatorPolicy<HardenedPolicy>);

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_POLICY_H_
