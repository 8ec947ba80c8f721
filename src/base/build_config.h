// Build configuration as constants: the one reader of the generated sc_buildflags.h. Everything else includes this.
#ifndef SCALLOC_SRC_BASE_BUILD_CONFIG_H_
#define SCALLOC_SRC_BASE_BUILD_CONFIG_H_

#include "sc_buildflags.h"

namespace scalloc::internal {

inline constexpr bool kIsDebug = SC_BUILDFLAG(IS_DEBUG);
inline constexpr bool kUseAsan = SC_BUILDFLAG(USE_ASAN);
// 0 none, 1 error, 2 warning, 3 info, 4 debug.
inline constexpr int kLogLevel = SC_BUILDFLAG(LOG_LEVEL);
// Default reuse threshold in percent (see docs/design.md, "Span life cycle").
inline constexpr unsigned kDefaultReuseThreshold = SC_BUILDFLAG(REUSE_THRESHOLD);

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_BASE_BUILD_CONFIG_H_
