// Statistics snapshot: per size class and arena totals, gathered by walking span metadata on demand (so the
// fast paths pay nothing). Counts are exact only while the heap is quiescent; otherwise a consistent-enough
// snapshot for monitoring.
#ifndef SCALLOC_SRC_CORE_STATS_H_
#define SCALLOC_SRC_CORE_STATS_H_

#include <cstddef>
#include <cstdint>

#include "src/core/size_classes.h"

namespace scalloc::internal {

struct ClassStats {
  uint64_t block_bytes = 0;
  uint64_t allocated_total = 0;  // blocks ever allocated (cumulative)
  uint64_t freed_total = 0;      // blocks ever freed (cumulative)
  uint64_t blocks_in_use = 0;
  uint64_t blocks_free = 0;  // free blocks inside spans of this class (local, remote and never used)
  uint64_t spans_hot = 0;
  uint64_t spans_floating = 0;
  uint64_t spans_reusable = 0;
  uint64_t committed_bytes = 0;  // real-span bytes of this class's spans
};

struct Stats {
  ClassStats classes[kNumClasses];
  uint64_t arena_reserved_bytes = 0;
  uint64_t arena_spans_ever_used = 0;
  uint64_t spans_free = 0;  // in the span pool
  uint64_t span_cache_bytes = 0;
  uint64_t large_objects = 0;
  uint64_t large_bytes = 0;
  uint64_t large_allocated_total = 0;
  uint64_t large_freed_total = 0;
  uint64_t large_cache_bytes = 0;  // freed large-object mappings kept for reuse
  uint64_t live_bytes = 0;         // small blocks in use * block size + large bytes
  uint64_t committed_bytes = 0;    // spans in use + span cache + large objects
  uint64_t resident_bytes = 0;     // the process RSS
  uint64_t threads_bound = 0;      // LABs in use
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_STATS_H_
