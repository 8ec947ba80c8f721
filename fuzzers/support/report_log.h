// ReportLog: collects the allocator's misuse reports through the test hook instead of aborting, so a harness can
// compare them with the misuse it injected. One process-wide log; ops run one at a time (see worker_pool.h).
#ifndef SCALLOC_FUZZERS_SUPPORT_REPORT_LOG_H_
#define SCALLOC_FUZZERS_SUPPORT_REPORT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/core/report.h"

namespace scalloc::fuzzing {

using internal::ReportKind;

class ReportLog {
 public:
  static constexpr size_t kMaxKept = 8;

  static ReportLog& Instance() {
    static ReportLog log;
    return log;
  }

  // Routes every report into this log (until Uninstall).
  void Install() { internal::SetReportHookForTesting(&ReportLog::Hook); }
  void Uninstall() { internal::SetReportHookForTesting(nullptr); }

  void Clear() { count_ = 0; }
  size_t count() const { return count_; }
  ReportKind kind(size_t i) const { return kinds_[i]; }
  const char* message(size_t i) const { return messages_[i]; }

 private:
  static void Hook(ReportKind kind, const char* message, uintptr_t /*address*/) {
    ReportLog& log = Instance();
    if (log.count_ < kMaxKept) {
      log.kinds_[log.count_] = kind;
      std::strncpy(log.messages_[log.count_], message, sizeof(log.messages_[0]) - 1);
      log.messages_[log.count_][sizeof(log.messages_[0]) - 1] = '\0';
    }
    ++log.count_;
  }

  size_t count_ = 0;
  ReportKind kinds_[kMaxKept] = {};
  char messages_[kMaxKept][200] = {};
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_REPORT_LOG_H_
