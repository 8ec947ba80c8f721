// The C++ side of static_link_test.sh: operator new/delete of a statically linked scalloc (a 17-byte new
// gets a 32-byte block, glibc's holds 24), containers across threads, and sized delete.
#include <malloc.h>

#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "src/api/scalloc.h"

int main() {
  std::printf("mode %s\n", scalloc_mode());
  char* probe = new char[17];
  std::printf("usable size of a 17-byte new: %zu\n", malloc_usable_size(probe));
  delete[] probe;
  std::vector<std::thread> threads;
  std::vector<size_t> sums(4);
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([t, &sums] {
      std::map<int, std::string> m;
      for (int i = 0; i < 20000; ++i) m[i % 997] = std::string(static_cast<size_t>(i % 300), 'a' + (i % 26));
      for (const auto& [key, value] : m) sums[t] += value.size() + static_cast<size_t>(key);
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::printf("sums %zu %zu %zu %zu\n", sums[0], sums[1], sums[2], sums[3]);
  return 0;
}
