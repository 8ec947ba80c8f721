// Misuse fuzzer (HardenedPolicy): traces that also inject double frees, invalid frees, wrong sized frees and
// free-list overwrites. Every injected misuse must be reported through the report hook, and nothing else may be.
#include <cstddef>
#include <cstdint>

#include "fuzzers/support/trace_runner.h"
#include "src/core/allocator.h"
#include "src/core/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzzing = scalloc::fuzzing;
  fuzzing::RunnerOptions options;
  options.misuse = true;
  fuzzing::TraceRunner runner({&fuzzing::MakeHeap<scalloc::internal::HardenedPolicy>}, options);
  runner.Run(data, size);
  return 0;
}
