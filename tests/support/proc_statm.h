// Fields of /proc/self/statm in bytes, read with plain system calls so the measurement does not allocate (tests
// that replace malloc read it while allocation may fail or be under test).
#ifndef SCALLOC_TESTS_SUPPORT_PROC_STATM_H_
#define SCALLOC_TESTS_SUPPORT_PROC_STATM_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>

namespace scalloc::testing {

// Field `index` of /proc/self/statm (0: total program size, 1: resident set), in bytes; 0 when unreadable.
inline size_t ProcStatmBytes(int index) {
  char buffer[128] = {};
  const int fd = open("/proc/self/statm", O_RDONLY);
  if (fd < 0) return 0;
  const ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (n <= 0) return 0;
  char* field = buffer;
  for (int i = 0; i < index; ++i) strtoull(field, &field, 10);
  return strtoull(field, nullptr, 10) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Virtual memory size of this process in bytes.
inline size_t VirtualMemoryBytes() { return ProcStatmBytes(0); }

// Resident set size of this process in bytes.
inline size_t ResidentBytes() { return ProcStatmBytes(1); }

}  // namespace scalloc::testing

#endif  // SCALLOC_TESTS_SUPPORT_PROC_STATM_H_
