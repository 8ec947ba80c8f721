/* Public extensions of the scalloc malloc library (C and C++). The standard allocation functions are declared
 * by <stdlib.h> and <malloc.h> as usual. */
#ifndef SCALLOC_SRC_API_SCALLOC_H_
#define SCALLOC_SRC_API_SCALLOC_H_

#include <stddef.h>

#ifdef __cplusplus
#define SCALLOC_NOEXCEPT noexcept
extern "C" {
#else
#define SCALLOC_NOEXCEPT
#endif

/* Writes the allocator's statistics as one JSON object into `buffer` (NUL-terminated, truncated to `size`)
 * and returns the length of the full text (like snprintf). */
size_t scalloc_stats_json(char* buffer, size_t size) SCALLOC_NOEXCEPT;

/* "fast" or "hardened". */
const char* scalloc_mode(void) SCALLOC_NOEXCEPT;

/* C23 sized deallocation (glibc 2.36 does not declare them yet). */
void free_sized(void* pointer, size_t size) SCALLOC_NOEXCEPT;
void free_aligned_sized(void* pointer, size_t alignment, size_t size) SCALLOC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* SCALLOC_SRC_API_SCALLOC_H_ */
