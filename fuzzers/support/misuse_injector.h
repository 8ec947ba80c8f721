// InjectMisuse: performs one misuse op of a trace (misuse_fuzzer) on a hardened heap and checks that the allocator
// reported it exactly once, with an acceptable kind (table in fuzzers/README.md, "Misuse operations"). The heap's
// state must be unchanged by a reported misuse: the allocator abandons the operation when the report hook returns.
#ifndef SCALLOC_FUZZERS_SUPPORT_MISUSE_INJECTOR_H_
#define SCALLOC_FUZZERS_SUPPORT_MISUSE_INJECTOR_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzzers/support/fuzz_check.h"
#include "fuzzers/support/heap_under_test.h"
#include "fuzzers/support/op_stream.h"
#include "fuzzers/support/report_log.h"
#include "fuzzers/support/shadow_heap.h"

namespace scalloc::fuzzing {

enum class MisuseOutcome {
  kSkipped,    // nothing to misuse (for example an empty slot)
  kReported,   // injected and reported as expected
  kOverwrote,  // a free-list link was overwritten; its report may come later or never
};

namespace misuse_detail {

// Bit masks of acceptable ReportKinds.
inline constexpr unsigned Accept(ReportKind kind) { return 1u << static_cast<int>(kind); }
inline constexpr unsigned kAcceptDoubleFree = Accept(ReportKind::kDoubleFree);
inline constexpr unsigned kAcceptInvalidFree = Accept(ReportKind::kInvalidFree);
inline constexpr unsigned kAcceptSizeMismatch = Accept(ReportKind::kSizeMismatch);
inline constexpr unsigned kAcceptInvalidPointer = Accept(ReportKind::kInvalidPointer);

// An offset inside a live block of `usable` bytes, on a 16-byte boundary when the block has one, else 1..15.
inline size_t InteriorOffset(size_t usable, uint8_t arg) {
  if (usable <= 16) return 1 + arg % 15;
  return 16 * (1 + arg % ((usable - 1) / 16));
}

// Frees a pointer the heap never returned; says which reports are acceptable.
inline unsigned FreeOfForeignPointer(HeapUnderTest& heap, void* pointer) {
  heap.Free(pointer);
  // Outside the arena only the large-object table knows addresses; one it remembers as freed (a former large
  // object at that address) is reported as a double free.
  if (!heap.IsInArena(pointer)) return kAcceptInvalidFree | kAcceptDoubleFree;
  return kAcceptInvalidFree;
}

// free_sized with a size no request for this block could have had.
inline void WrongSizeFree(HeapUnderTest& heap, char* pointer, const ShadowBlock& block, uint8_t arg) {
  size_t wrong = block.usable + 1 + 16 * (arg >> 1);  // too big: never fits the block
  if ((arg & 1) != 0 && block.alignment <= 16) {
    // Too small: at most half a block of a size class (the next smaller class already holds it), or a large
    // object's size rounded to one page fewer. Blocks of the classes above 128 KiB are mapped on their own by
    // the hardened mode, outside the arena, and follow their class's rule. Not for aligned blocks: a smaller
    // size with the same alignment can legitimately need the same class.
    const bool class_block = heap.IsInArena(pointer) || (block.usable > 8192 && block.usable <= kSpecMaxSmallSize);
    if (class_block && block.usable > 16) {
      wrong = (arg >> 1) % (block.usable / 2 + 1);
    } else if (!heap.IsInArena(pointer) && block.usable > 8192) {
      wrong = block.usable - 4097;
    }
  }
  if (block.alignment > 16) {
    heap.FreeAlignedSized(pointer, block.alignment, wrong);
  } else {
    heap.FreeSized(pointer, wrong);
  }
}

}  // namespace misuse_detail

#define SC_MISUSE_CHECK(condition, format, ...) \
  SC_FUZZ_CHECK(condition, "op #%zu (misuse %d): " format, op_index, static_cast<int>(op.misuse), ##__VA_ARGS__)

// Runs `op` (a kMisuse op) against `heap`, whose slot op.slot is described by `block`. The report hook must be
// installed (ReportLog::Install).
inline MisuseOutcome InjectMisuse(HeapUnderTest& heap, const ShadowBlock& block, const Op& op, size_t op_index,
                                  bool verbose) {
  using namespace misuse_detail;  // NOLINT: the helpers above
  ReportLog& log = ReportLog::Instance();
  log.Clear();
  const size_t slot = op.slot;
  auto* live_pointer = static_cast<char*>(heap.slot_pointer[slot]);
  unsigned accept = 0;
  switch (op.misuse) {
    case MisuseKind::kDoubleFree: {
      void* stale = heap.stale_pointer[slot];
      // A stale address that is again the start of a live block would be a valid free.
      if (stale == nullptr || heap.live.ContainsStart(reinterpret_cast<uintptr_t>(stale))) {
        return MisuseOutcome::kSkipped;
      }
      // The span may hold another size class by now: its block boundaries then differ (invalid free).
      accept = kAcceptDoubleFree | kAcceptInvalidFree;
      switch (op.arg % 4) {
        case 0:
          heap.Free(stale);
          break;
        case 1:
          accept |= kAcceptSizeMismatch;  // with another class in the span, the size check may notice first
          if (heap.stale_alignment[slot] > 16) {
            heap.FreeAlignedSized(stale, heap.stale_alignment[slot], heap.stale_request[slot]);
          } else {
            heap.FreeSized(stale, heap.stale_request[slot]);
          }
          break;
        case 2:
          SC_MISUSE_CHECK(heap.Realloc(stale, 0) == nullptr, "realloc(stale, 0) returned a block");
          break;
        default:
          // A size the stale block still fits: realloc must not hand the freed block back.
          SC_MISUSE_CHECK(heap.Realloc(stale, heap.stale_request[slot] | 1) == nullptr,
                          "realloc(stale, %zu) returned a block", heap.stale_request[slot] | 1);
          break;
      }
      break;
    }
    case MisuseKind::kInteriorFree:
      if (live_pointer == nullptr) return MisuseOutcome::kSkipped;
      accept = FreeOfForeignPointer(heap, live_pointer + InteriorOffset(block.usable, op.arg));
      break;
    case MisuseKind::kMisalignedFree:
      if (live_pointer == nullptr) return MisuseOutcome::kSkipped;
      accept = FreeOfForeignPointer(heap, live_pointer + 1 + op.arg % 15);
      break;
    case MisuseKind::kForeignFree: {
      alignas(16) char on_stack[64];
      alignas(16) static char in_globals[64];
      switch (op.arg % 3) {
        case 0:
          accept = FreeOfForeignPointer(heap, on_stack + 16 * (op.arg % 4));
          break;
        case 1:
          accept = FreeOfForeignPointer(heap, in_globals + 16 * (op.arg % 4));
          break;
        default: {
          void* host = std::malloc(48);  // the process's own malloc, not the heap under test
          accept = FreeOfForeignPointer(heap, host);
          std::free(host);
          break;
        }
      }
      break;
    }
    case MisuseKind::kWildArenaFree: {
      void* wild = heap.NeverUsedArenaAddress(op.arg);
      if (wild == nullptr) return MisuseOutcome::kSkipped;
      heap.Free(wild);
      accept = kAcceptInvalidFree;
      break;
    }
    case MisuseKind::kWrongSizeFree:
      if (live_pointer == nullptr) return MisuseOutcome::kSkipped;
      WrongSizeFree(heap, live_pointer, block, op.arg);
      accept = kAcceptSizeMismatch;
      break;
    case MisuseKind::kFreeListOverwrite: {
      void* stale = heap.stale_pointer[slot];
      uintptr_t address = reinterpret_cast<uintptr_t>(stale);
      if (stale == nullptr || !heap.IsWritableBlockStart(stale) || heap.live.Overlaps(address, address + 8)) {
        return MisuseOutcome::kSkipped;
      }
      uint64_t garbage = (uint64_t{op.arg} + 1) * 0x9e3779b97f4a7c15ull;
      garbage ^= garbage >> 29;
      std::memcpy(stale, &garbage, sizeof(garbage));
      if (verbose) std::fprintf(stderr, "  overwrote the link at %p\n", stale);
      return MisuseOutcome::kOverwrote;
    }
    case MisuseKind::kReallocInterior: {
      if (live_pointer == nullptr) return MisuseOutcome::kSkipped;
      char* interior = live_pointer + InteriorOffset(block.usable, op.arg);
      SC_MISUSE_CHECK(heap.Realloc(interior, 1 + op.arg) == nullptr, "realloc of an interior pointer succeeded");
      accept = kAcceptInvalidFree;
      break;
    }
    case MisuseKind::kUsableSizeInterior: {
      if (live_pointer == nullptr) return MisuseOutcome::kSkipped;
      char* interior = live_pointer + InteriorOffset(block.usable, op.arg);
      SC_MISUSE_CHECK(heap.UsableSize(interior) == 0, "usable size of an interior pointer is not 0");
      accept = kAcceptInvalidPointer;
      break;
    }
  }
  if (verbose) std::fprintf(stderr, "  reported: %s\n", log.count() > 0 ? log.message(0) : "nothing");
  SC_MISUSE_CHECK(log.count() == 1, "%zu reports instead of one (first: %s)", log.count(),
                  log.count() > 0 ? log.message(0) : "none");
  SC_MISUSE_CHECK((accept >> static_cast<int>(log.kind(0))) & 1, "wrong kind of report: %s", log.message(0));
  log.Clear();
  return MisuseOutcome::kReported;
}

#undef SC_MISUSE_CHECK

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_MISUSE_INJECTOR_H_
