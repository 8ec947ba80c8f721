// The catalogue of fatal reports for client misuse. Each writes one line "scalloc: <error class> ... 0x<addr>"
// with write(2), never allocating, then aborts. Tests and fuzzers may install a hook that observes reports; if
// the hook returns, the report function returns and the caller abandons the operation (leaks rather than
// corrupts).
#ifndef SCALLOC_SRC_CORE_REPORT_H_
#define SCALLOC_SRC_CORE_REPORT_H_

#include <cstddef>
#include <cstdint>

#include "src/base/compiler.h"

namespace scalloc::internal {

enum class ReportKind : int {
  kDoubleFree,
  kInvalidFree,
  kCorruptedFreeList,
  kSizeMismatch,
  kCorruptedSpan,
  kInvalidPointer,
};

const char* ReportKindName(ReportKind kind);

using ReportHook = void (*)(ReportKind kind, const char* message, uintptr_t address);
// Installs (or with nullptr removes) the hook. Not thread-safe against concurrent reports; for tests.
void SetReportHookForTesting(ReportHook hook);

// class_id 0xffffffff: a large object; block_bytes 0: the block's span is already empty.
SC_COLD SC_NOINLINE void ReportDoubleFree(const void* address, uint32_t class_id, size_t block_bytes);
// `why`: a short phrase: "not allocated by scalloc", "interior pointer", "misaligned pointer", ...
SC_COLD SC_NOINLINE void ReportInvalidFree(const void* address, const char* why);
SC_COLD SC_NOINLINE void ReportCorruptedFreeList(const void* slot, uintptr_t link, uint32_t class_id);
SC_COLD SC_NOINLINE void ReportSizeMismatch(const void* address, size_t given_bytes, size_t block_bytes);
SC_COLD SC_NOINLINE void ReportCorruptedSpan(const void* address);
// A pointer that is not a live block handed to a query (malloc_usable_size, realloc's size lookup).
SC_COLD SC_NOINLINE void ReportInvalidPointer(const void* address, const char* operation);

// Non-fatal diagnostics (bad option strings, verbose output): written to stderr without allocating.
void LogMessage(const char* text);

// A fixed-capacity text builder that never allocates, for reports and statistics.
class TextBuffer {
 public:
  TextBuffer(char* storage, size_t capacity) : data_(storage), capacity_(capacity) {}
  TextBuffer& Append(const char* text);
  TextBuffer& AppendDecimal(uint64_t value);
  TextBuffer& AppendHex(uint64_t value);  // with 0x prefix
  TextBuffer& AppendChar(char c);
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // NUL-terminates (truncating if needed) and returns data().
  const char* CString();

 private:
  char* data_;
  size_t capacity_;
  size_t size_ = 0;
};

}  // namespace scalloc::internal

#define SC_POLICY_CHECK(enabled, condition, report_call) \
  do {                                                   \
    if constexpr (enabled) {                             \
      if (SC_UNLIKELY(!(condition))) {                   \
        report_call;                                     \
      }                                                  \
    }                                                    \
  } while (0)

#endif  // SCALLOC_SRC_CORE_REPORT_H_
