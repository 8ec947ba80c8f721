// SC_FUZZ_CHECK: the harnesses' one way to fail. Prints what went wrong (with printf-style detail) and traps, so
// libFuzzer records a crash and the replay executables exit abnormally. Used only by fuzzers/, never by src/.
#ifndef SCALLOC_FUZZERS_SUPPORT_FUZZ_CHECK_H_
#define SCALLOC_FUZZERS_SUPPORT_FUZZ_CHECK_H_

#include <cstdio>

#define SC_FUZZ_CHECK(condition, ...)                                                           \
  do {                                                                                          \
    if (__builtin_expect(!(condition), 0)) {                                                    \
      std::fprintf(stderr, "fuzz check failed: %s at %s:%d: ", #condition, __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                                                        \
      std::fputc('\n', stderr);                                                                 \
      std::fflush(stderr);                                                                      \
      __builtin_trap();                                                                         \
    }                                                                                           \
  } while (0)

// Harness bookkeeping loops (pattern fills, content comparison) need no coverage feedback: instrumenting their
// compares only makes every input slower.
#if defined(__clang__)
#define SC_FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define SC_FUZZ_NO_COVERAGE
#endif

#endif  // SCALLOC_FUZZERS_SUPPORT_FUZZ_CHECK_H_
