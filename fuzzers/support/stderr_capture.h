// StderrCapture: collects what the process writes to file descriptor 2 while it lives (the allocator's verbose
// and warning lines go there with write(2)), so a harness can check that output instead of printing it per input.
#ifndef SCALLOC_FUZZERS_SUPPORT_STDERR_CAPTURE_H_
#define SCALLOC_FUZZERS_SUPPORT_STDERR_CAPTURE_H_

#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include "fuzzers/support/fuzz_check.h"

namespace scalloc::fuzzing {

// Keep the capturing scope short: a sanitizer report or a failed check inside it would go to the file too.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    SC_FUZZ_CHECK(file_ != nullptr, "tmpfile() failed");
    saved_ = dup(2);
    SC_FUZZ_CHECK(saved_ >= 0 && dup2(fileno(file_), 2) == 2, "cannot redirect stderr");
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() { Restore(); }

  // Restores stderr and returns everything written meanwhile.
  std::string Finish() {
    Restore();
    return text_;
  }

 private:
  void Restore() {
    if (file_ == nullptr) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::rewind(file_);
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0;) text_.append(buffer, n);
    std::fclose(file_);
    file_ = nullptr;
  }

  std::FILE* file_ = nullptr;
  int saved_ = -1;
  std::string text_;
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_STDERR_CAPTURE_H_
