// Renders a Stats snapshot as a human-readable table, as JSON and as glibc-shaped malloc_info XML, into a
// caller-provided buffer (never allocates). Size classes with no spans are left out.
#ifndef SCALLOC_SRC_CORE_STATS_FORMAT_H_
#define SCALLOC_SRC_CORE_STATS_FORMAT_H_

#include "src/core/report.h"
#include "src/core/stats.h"

namespace scalloc::internal {

void FormatStatsTable(const Stats& stats, const char* mode_name, TextBuffer& out);
void FormatStatsJson(const Stats& stats, const char* mode_name, TextBuffer& out);
void FormatStatsMallocInfoXml(const Stats& stats, TextBuffer& out);

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_STATS_FORMAT_H_
