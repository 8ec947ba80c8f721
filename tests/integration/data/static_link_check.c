// Linked statically against libscalloc.a or libscalloc_hardened.a (tests/integration/static_link_test.sh):
// prints the mode, shows that malloc is scalloc's (a 17-byte request gets a 32-byte block; glibc's holds 24),
// and exercises the C API from several threads. With the argument "double-free" it frees a block twice.
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/api/scalloc.h"

static void* Churn(void* arg) {
  uintptr_t seed = (uintptr_t)arg;
  uint64_t sum = 0;
  void* blocks[256] = {0};
  for (int i = 0; i < 20000; ++i) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    size_t slot = (seed >> 33) % 256;
    size_t size = (seed >> 45) % 5000 + 1;
    if (blocks[slot] != NULL) {
      sum += ((unsigned char*)blocks[slot])[0];
      free(blocks[slot]);
    }
    blocks[slot] = (seed & 1) ? malloc(size) : calloc(1, size);
    if (blocks[slot] == NULL) return NULL;
    memset(blocks[slot], (int)(size & 0xff), size);
  }
  for (size_t slot = 0; slot < 256; ++slot) free(blocks[slot]);
  return (void*)(uintptr_t)(sum + 1);
}

int main(int argc, char** argv) {
  printf("mode %s\n", scalloc_mode());
  void* probe = malloc(17);
  printf("usable size of a 17-byte request: %zu\n", malloc_usable_size(probe));
  if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
    free(probe);
    free(probe);
    puts("double free not reported");
    return 0;
  }
  free(probe);

  char* text = malloc(8);
  strcpy(text, "scalloc");
  for (size_t size = 16; size <= (size_t)8 << 20; size *= 4) {
    text = realloc(text, size);
    if (text == NULL || strcmp(text, "scalloc") != 0) return 1;
  }
  free(text);
  void* aligned = NULL;
  if (posix_memalign(&aligned, 4096, 100) != 0 || ((uintptr_t)aligned & 4095) != 0) return 1;
  free(aligned);

  pthread_t threads[4];
  for (uintptr_t t = 0; t < 4; ++t) pthread_create(&threads[t], NULL, Churn, (void*)(t + 1));
  int ok = 1;
  for (int t = 0; t < 4; ++t) {
    void* result;
    pthread_join(threads[t], &result);
    ok &= result != NULL;
  }
  puts(ok ? "threads ok" : "threads failed");
  return ok ? 0 : 1;
}
