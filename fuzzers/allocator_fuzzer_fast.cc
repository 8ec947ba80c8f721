// Single-policy fuzzer for FastPolicy: traces against the shadow model with the invariant walkers after every op.
#include <cstddef>
#include <cstdint>

#include "fuzzers/support/trace_runner.h"
#include "src/core/allocator.h"
#include "src/core/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzzing = scalloc::fuzzing;
  fuzzing::RunnerOptions options;
  options.validate_every_op = true;
  fuzzing::TraceRunner runner({&fuzzing::MakeHeap<scalloc::internal::FastPolicy>}, options);
  runner.Run(data, size);
  return 0;
}
