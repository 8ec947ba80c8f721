// The write loop of cache_thrash and cache_scratch: a thread hammering its own small object, which
// runs at coherence-miss speed when the allocator put another thread's object on the same line.
#ifndef SCALLOC_TOOLS_BENCH_FALSE_SHARING_H_
#define SCALLOC_TOOLS_BENCH_FALSE_SHARING_H_

#include <cstddef>
#include <cstdint>

namespace scalloc::bench {

// Writes every byte of the object `writes` times through a volatile pointer (each store must reach
// the cache) and returns a digest of the final contents.
inline uint64_t Hammer(void* object, size_t size, int64_t writes) {
  volatile unsigned char* bytes = static_cast<volatile unsigned char*>(object);
  for (int64_t w = 0; w < writes; ++w) {
    for (size_t k = 0; k < size; ++k) bytes[k] = static_cast<unsigned char>(bytes[k] + k + 1);
  }
  uint64_t digest = 0;
  for (size_t k = 0; k < size; ++k) digest = digest * 131 + bytes[k];
  return digest;
}

}  // namespace scalloc::bench

#endif  // SCALLOC_TOOLS_BENCH_FALSE_SHARING_H_
