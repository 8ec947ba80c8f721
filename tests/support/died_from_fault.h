// The exit predicate of death tests that expect a memory fault (a guard page, an inaccessible mapping).
#ifndef SCALLOC_TESTS_SUPPORT_DIED_FROM_FAULT_H_
#define SCALLOC_TESTS_SUPPORT_DIED_FROM_FAULT_H_

#include <sys/wait.h>

#include <csignal>

#include "src/base/build_config.h"

namespace scalloc::testing {

// A fault kills the process with SIGSEGV; under ASan its handler reports the fault and exits with an error
// status instead.
inline bool DiedFromFault(int status) {
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGSEGV;
  return internal::kUseAsan && WIFEXITED(status) && WEXITSTATUS(status) != 0;
}

}  // namespace scalloc::testing

#endif  // SCALLOC_TESTS_SUPPORT_DIED_FROM_FAULT_H_
