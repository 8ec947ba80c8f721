// Differential fuzzer: every trace runs through a fresh Allocator<FastPolicy>, a fresh Allocator<HardenedPolicy>
// and the shadow model in one process; after each op the two heaps must agree with each other and the model.
#include <cstddef>
#include <cstdint>

#include "fuzzers/support/trace_runner.h"
#include "src/core/allocator.h"
#include "src/core/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using scalloc::internal::FastPolicy;
  using scalloc::internal::HardenedPolicy;
  namespace fuzzing = scalloc::fuzzing;
  fuzzing::TraceRunner runner({&fuzzing::MakeHeap<FastPolicy>, &fuzzing::MakeHeap<HardenedPolicy>},
                              fuzzing::RunnerOptions{});
  runner.Run(data, size);
  return 0;
}
