// SpanMeta: the out-of-line header of one virtual span, and the packed remote word that carries the span's
// life-cycle state. Metadata lives in its own region (arena.h), never next to user data.
//
// Life cycle (docs/design.md has the full protocol):
//   kHot      owned by one LAB; only the owner pops/pushes free_list; other threads push to the remote list.
//   kFloating no owner, too full to be worth reviving; frees push to the remote list.
//   kReusable no owner, utilization below the reuse threshold; linked in its class's reusable list.
//   kFree     all blocks free; the span is in (or on its way to) the span pool.
// Every transition is a single CAS on `remote`; transitions that change reusable-list membership are made
// while holding the class's list lock, so list membership and state never disagree under the lock.
#ifndef SCALLOC_SRC_CORE_SPAN_H_
#define SCALLOC_SRC_CORE_SPAN_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "src/base/compiler.h"
#include "src/base/tagged_index_stack.h"

namespace scalloc::internal {

// kFree is 0 so that zero-filled metadata (a span never taken from the arena) reads as free.
enum class SpanState : uint32_t { kFree = 0, kHot = 1, kFloating = 2, kReusable = 3 };

// The remote word: [0,18) remote-list head as (offset/16 + 1), 0 = empty; [18,34) number of blocks on the
// remote list; [34,36) SpanState; [36,64) epoch, bumped whenever the span becomes hot, so a freer that read
// span fields under an older epoch cannot complete a CAS against a newer life of the span (ABA).
class RemoteWord {
 public:
  static constexpr unsigned kHeadBits = 18, kCountBits = 16, kStateBits = 2;
  static constexpr unsigned kCountShift = kHeadBits, kStateShift = kHeadBits + kCountBits,
                            kEpochShift = kStateShift + kStateBits;

  constexpr RemoteWord() = default;
  constexpr explicit RemoteWord(uint64_t raw) : raw_(raw) {}
  static constexpr RemoteWord Make(uint32_t head, uint32_t count, SpanState state, uint64_t epoch) {
    return RemoteWord(uint64_t{head} | (uint64_t{count} << kCountShift) |
                      (uint64_t{static_cast<uint32_t>(state)} << kStateShift) | (epoch << kEpochShift));
  }

  constexpr uint64_t raw() const { return raw_; }
  constexpr uint32_t head() const { return static_cast<uint32_t>(raw_ & ((1u << kHeadBits) - 1)); }
  constexpr uint32_t count() const { return static_cast<uint32_t>((raw_ >> kCountShift) & ((1u << kCountBits) - 1)); }
  constexpr SpanState state() const { return static_cast<SpanState>((raw_ >> kStateShift) & ((1u << kStateBits) - 1)); }
  constexpr uint64_t epoch() const { return raw_ >> kEpochShift; }

  constexpr RemoteWord WithPush(uint32_t head) const { return Make(head, count() + 1, state(), epoch()); }
  constexpr RemoteWord WithState(SpanState state) const { return Make(head(), count(), state, epoch()); }

  // Head encoding: blocks are 16-byte aligned and a span is 2 MiB, so offset/16 fits 17 bits; +1 keeps 0 free.
  static constexpr uint32_t HeadOf(uintptr_t offset_in_span) { return static_cast<uint32_t>(offset_in_span >> 4) + 1; }
  static constexpr uintptr_t OffsetOfHead(uint32_t head) { return uintptr_t{head - 1} << 4; }

 private:
  uint64_t raw_ = 0;
};

struct Lab;

// One per virtual span, 256 bytes, valid when all-zero (a fresh metadata page). Four cache lines, grouped by who
// writes them, so that no thread reads a line another thread keeps writing:
//   0  the owner's: its local list and bump pointer, written on every allocation and local free;
//   1  pool and reusable-list links, touched on span transitions only;
//   2  read-mostly: the owner pointer and the span's geometry, written when the span changes hands or classes.
//      Every free reads it (the ownership test); remote freers read nothing else of the owner's;
//   3  remote freers': the remote word they CAS.
// Lines 0 and 2 sit in different 128-byte pairs, so the adjacent-line prefetcher does not pull the owner's line
// into a remote freer's cache either.
// Guarded arenas: how a span's inaccessible parts are kept (Arena::EnsureGuardMarkers).
enum GuardScheme : uint32_t {
  kGuardByProtection = 0,  // PROT_NONE parts of the arena's mapping (kernels without guard markers)
  kGuardByMarkers = 1,     // the virtual span is read-write; its inaccessible parts are guard markers
  // Markers were installed but the span could not be made read-write, nor the markers removed: the span is
  // PROT_NONE with markers, which its first opening removes (then kGuardByProtection).
  kGuardMarkersToRemove = 2,
};

struct alignas(64) SpanMeta {
  // --- 0: the owner's line (written only by the owning LAB while hot, or under span-pool/list protocols).
  void* free_list = nullptr;  // local free list head (links encoded by the policy)
  uintptr_t bump = 0;         // next never-used block
  uintptr_t bump_end = 0;     // end of the blocks of the real span

  // --- 1: pool and list fields.
  alignas(64) std::atomic<uint32_t> pool_next{kNoIndex};  // span-pool stack link
  uint32_t list_prev = kNoIndex;                          // reusable-list links, protected by the class lock
  uint32_t list_next = kNoIndex;
  uint32_t dirty_bytes = 0;  // prefix that may be resident (fast) or is accessible (hardened)
  // Revival preference (read and written under the class lock, or by the owner before its release CAS): the
  // LAB that last held the span hot, and whether that LAB's own frees made it reusable (it is likely still
  // freeing into it, so another thread reviving it would share its cache lines).
  Lab* last_owner = nullptr;
  uint32_t drained_by_last_owner = 0;
  // Guarded arenas: how the span's inaccessible parts are kept (a GuardScheme, set before first use).
  uint32_t guard_scheme = 0;
  // Sparse spans (Arena::IsSparseSpan): the prefix of the virtual span that is mapped; the rest is a hole.
  uint32_t mapped_bytes = 0;

  // --- 2: read-mostly.
  alignas(64) std::atomic<Lab*> owner{nullptr};  // the LAB holding this span hot, else nullptr (read racily by freers)
  uint32_t class_id = 0;                         // valid only while block_bytes != 0
  uint32_t block_bytes = 0;                      // 0: the span holds no class (free or never used)
  uint32_t num_blocks = 0;
  uint32_t reuse_limit_blocks = 0;  // becomes reusable when blocks in use drop below this
  uint64_t div_magic = 0;
  uint32_t checksum = 0;  // hardened: hash of the fields above with the secret
  // Blocks never handed out (bump..bump_end), published at release for freers' utilization math.
  std::atomic<uint32_t> unbumped_blocks{0};

  // --- 3: remote freers' line.
  alignas(64) std::atomic<uint64_t> remote{0};  // a RemoteWord; 0 = kFree, empty, epoch 0
};
static_assert(sizeof(SpanMeta) == 256);
static_assert(offsetof(SpanMeta, free_list) / 128 != offsetof(SpanMeta, owner) / 128);

// The constant, never-written span every slot of a fresh LAB points to: its free list is empty, so the first
// allocation of each class takes the slow path, which installs a real span (mimalloc's empty-page idea).
inline constinit SpanMeta kEmptySpan{};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_SPAN_H_
