// RAII allocator instance for tests: Init in the constructor (small arena, options given explicitly so the
// environment cannot change test behaviour), ReleaseAllForTesting in the destructor.
#ifndef SCALLOC_TESTS_SUPPORT_TEST_ALLOCATOR_H_
#define SCALLOC_TESTS_SUPPORT_TEST_ALLOCATOR_H_

#include <memory>

#include "src/core/allocator.h"

namespace scalloc::testing {

inline internal::Options TestOptions() {
  internal::Options options;
  options.arena_gib = 64;
  return options;
}

// The biggest blocks Policy keeps in spans (bigger classes are large objects), and how many of them fill a span:
// tests that need many spans allocate this many of them per span.
template <class Policy>
inline constexpr size_t kBiggestSpanBlock = Policy::kMaxSpanBlockBytes;
template <class Policy>
inline constexpr size_t kBiggestSpanBlocksPerSpan =
    internal::kSizeClassInfo[internal::SizeToClassUncached(Policy::kMaxSpanBlockBytes)].num_blocks;

template <class Policy, class Os = internal::SystemOs>
class TestAllocator {
 public:
  explicit TestAllocator(const internal::Options& options = TestOptions())
      : allocator_(new internal::Allocator<Policy, Os>()) {
    allocator_->Configure(options);
    initialized_ = allocator_->Init();
  }
  ~TestAllocator() { allocator_->ReleaseAllForTesting(); }
  TestAllocator(const TestAllocator&) = delete;
  TestAllocator& operator=(const TestAllocator&) = delete;

  internal::Allocator<Policy, Os>* operator->() { return allocator_.get(); }
  internal::Allocator<Policy, Os>& operator*() { return *allocator_; }
  bool initialized() const { return initialized_; }

 private:
  std::unique_ptr<internal::Allocator<Policy, Os>> allocator_;
  bool initialized_ = false;
};

}  // namespace scalloc::testing

#endif  // SCALLOC_TESTS_SUPPORT_TEST_ALLOCATOR_H_
