// Single-policy fuzzer for HardenedPolicy: traces against the shadow model with the invariant walkers after every
// op. No report hook is installed, so any misuse report (there must be none) aborts.
#include <cstddef>
#include <cstdint>

#include "fuzzers/support/trace_runner.h"
#include "src/core/allocator.h"
#include "src/core/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzzing = scalloc::fuzzing;
  fuzzing::RunnerOptions options;
  options.validate_every_op = true;
  fuzzing::TraceRunner runner({&fuzzing::MakeHeap<scalloc::internal::HardenedPolicy>}, options);
  runner.Run(data, size);
  return 0;
}
