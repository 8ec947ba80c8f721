// Runtime options: one table (name, default, doc), parsed from SCALLOC_OPTIONS="name=value:name=value" without
// allocating. Unknown or malformed entries are reported once on stderr and ignored.
#ifndef SCALLOC_SRC_CORE_OPTIONS_H_
#define SCALLOC_SRC_CORE_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "src/base/build_config.h"

namespace scalloc::internal {

// SC_OPTION(name, default, min, max, doc). Defaults of -1 mean "the policy decides".
#define SC_OPTIONS_TABLE(SC_OPTION)                                                                  \
  SC_OPTION(reuse_threshold, kDefaultReuseThreshold, 0, 100,                                         \
            "percent utilization below which a span with no owner becomes reusable (0: only empty "  \
            "spans are reused; 100: a span is reusable as soon as one block is free)")               \
  SC_OPTION(span_cache_mib, 32, 0, 1 << 20,                                                          \
            "MiB of empty spans kept committed in the span pool before memory goes back to the OS")  \
  SC_OPTION(large_cache_mib, 32, 0, 1 << 20,                                                         \
            "MiB of freed large-object mappings kept for reuse before memory goes back to the OS")   \
  SC_OPTION(zero_on_free, -1, -1, 1,                                                                 \
            "clear small blocks when they are freed (hardened library only; -1: policy default)")    \
  SC_OPTION(stats, 0, 0, 1, "print statistics to stderr at exit")                                    \
  SC_OPTION(verbose, 0, 0, 1, "print the effective options and the mode at start")                   \
  SC_OPTION(arena_gib, 1024, 1, 65536,                                                               \
            "GiB of address space to reserve for the span arena (shrinks "                           \
            "automatically under RLIMIT_AS)")                                                        \
  SC_OPTION(keep_deepbind, 0, 0, 1,                                                                  \
            "shared libraries only: pass RTLD_DEEPBIND on to dlopen (0: drop it, so that a library " \
            "opened with it uses the process's malloc, not the C library's)")

struct Options {
#define SC_DECLARE_FIELD(name, default_value, min, max, doc) int64_t name = default_value;
  SC_OPTIONS_TABLE(SC_DECLARE_FIELD)
#undef SC_DECLARE_FIELD

  // Applies "name=value:name=value" on top of the current values. Bad entries are reported through
  // LogMessage (once per call) and skipped. Returns the number of bad entries.
  int Parse(const char* text);
  // Writes every option as "name=value" lines (verbose=1 output).
  void Print() const;
};

}  // namespace scalloc::internal

#endif  // SCALLOC_SRC_CORE_OPTIONS_H_
