// Internal invariant checks. SC_CHECK is always on; SC_DCHECK only in debug builds but always type-checked.
// Client misuse is not checked here: it goes through SC_POLICY_CHECK and src/core/report.h.
#ifndef SCALLOC_SRC_BASE_CHECK_H_
#define SCALLOC_SRC_BASE_CHECK_H_

#include "src/base/build_config.h"
#include "src/base/compiler.h"

namespace scalloc::internal {
// Writes "scalloc: internal check failed: <expr> at <file>:<line>" and aborts. Defined by the os layer
// (src/os/os_linux.cc) because it is the only layer that may write or abort.
[[noreturn]] SC_COLD void CheckFailed(const char* expression, const char* file, int line);
}  // namespace scalloc::internal

#define SC_CHECK(cond)                                             \
  do {                                                             \
    if (SC_UNLIKELY(!(cond))) {                                    \
      ::scalloc::internal::CheckFailed(#cond, __FILE__, __LINE__); \
    }                                                              \
  } while (0)

#define SC_DCHECK(cond)                                            \
  do {                                                             \
    if (::scalloc::internal::kIsDebug && SC_UNLIKELY(!(cond))) {   \
      ::scalloc::internal::CheckFailed(#cond, __FILE__, __LINE__); \
    }                                                              \
  } while (0)

#endif  // SCALLOC_SRC_BASE_CHECK_H_
