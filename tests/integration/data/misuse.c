// Misuse patterns of common hardened-allocator test suites, one per run: `misuse NAME`. Run under the hardened
// preload library by tests/integration/misuse_test.sh, which expects the named scalloc report (or a fault) for
// each. A run that gets past the misuse prints "NOT DETECTED" and exits 0.
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char global_buffer[256];

// Opaque to the compiler, so that it cannot see (and warn about or drop) the misuse.
static void* volatile sink;
static void* Launder(void* p) {
  sink = p;
  return sink;
}

static void FreeSized(void* p, size_t size) {
  void (*free_sized)(void*, size_t) = (void (*)(void*, size_t))dlsym(RTLD_DEFAULT, "free_sized");
  if (free_sized == NULL) {
    puts("free_sized missing");
    exit(2);
  }
  free_sized(p, size);
}

static void* FreeOnThread(void* p) {
  free(p);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* name = argv[1];
  if (strcmp(name, "double_free_small") == 0) {
    void* p = malloc(16);
    free(p);
    free(Launder(p));
  } else if (strcmp(name, "double_free_small_delayed") == 0) {
    void* p = malloc(16);
    void* q = malloc(16);
    free(p);
    free(q);
    for (int i = 0; i < 100; ++i) Launder(malloc(32));
    free(Launder(p));
  } else if (strcmp(name, "double_free_large") == 0) {
    void* p = malloc(4 << 20);
    free(p);
    free(Launder(p));
  } else if (strcmp(name, "double_free_other_thread") == 0) {
    void* p = malloc(48);
    pthread_t thread;
    pthread_create(&thread, NULL, FreeOnThread, p);
    pthread_join(thread, NULL);
    free(Launder(p));
  } else if (strcmp(name, "realloc_after_free") == 0) {
    void* p = malloc(16);
    free(p);
    Launder(realloc(Launder(p), 64));
  } else if (strcmp(name, "misaligned_free") == 0) {
    char* p = malloc(16);
    free(Launder(p + 1));
  } else if (strcmp(name, "interior_free") == 0) {
    char* p = malloc(64);
    free(Launder(p + 16));
  } else if (strcmp(name, "interior_free_large") == 0) {
    char* p = malloc(4 << 20);
    free(Launder(p + 4096));
  } else if (strcmp(name, "free_never_allocated") == 0) {
    char* p = malloc(64);
    free(Launder(p + 64 * 100));
  } else if (strcmp(name, "free_global") == 0) {
    free(Launder(global_buffer + 16));
  } else if (strcmp(name, "free_stack") == 0) {
    char buffer[64];
    free(Launder(buffer + 16));
  } else if (strcmp(name, "free_wild") == 0) {
    free(Launder((void*)(uintptr_t)0xdeadbeef000ull));
  } else if (strcmp(name, "realloc_wild") == 0) {
    Launder(realloc(Launder((void*)(uintptr_t)0xdeadbeef000ull), 32));
  } else if (strcmp(name, "usable_size_of_freed") == 0) {
    void* p = malloc(16);
    free(p);
    printf("%zu\n", malloc_usable_size(Launder(p)));
  } else if (strcmp(name, "usable_size_interior") == 0) {
    char* p = malloc(16);
    printf("%zu\n", malloc_usable_size(Launder(p + 1)));
  } else if (strcmp(name, "sized_free_mismatch") == 0) {
    FreeSized(malloc(64), 4000);
  } else if (strcmp(name, "write_after_free_link") == 0) {
    char* p = malloc(64);
    free(p);
    memset(Launder(p), 0x41, 64);
    for (int i = 0; i < 4; ++i) Launder(malloc(64));
  } else if (strcmp(name, "overflow_past_span") == 0) {
    // Fill a span of 2048-byte blocks and write past the highest block byte by byte.
    char* highest = NULL;
    for (int i = 0; i < 64; ++i) {
      char* p = malloc(2048);
      if (p > highest) highest = p;
    }
    for (char* c = highest;; ++c) *(volatile char*)c = 1;
  } else if (strcmp(name, "overflow_large") == 0) {
    char* p = malloc(4 << 20);
    ((volatile char*)p)[malloc_usable_size(p)] = 1;
  } else if (strcmp(name, "overflow_256k_block") == 0) {
    // Eight bytes past a 256 KiB block (a size class, not a large object): its neighbour in a span is live.
    char* p = malloc(256 << 10);
    char* neighbour = malloc(256 << 10);
    memset(p, 1, 256 << 10);
    memset(neighbour, 2, 256 << 10);
    memset((char*)Launder(p) + malloc_usable_size(p), 0, 8);
    free(neighbour);
  } else if (strcmp(name, "underflow_large") == 0) {
    char* p = malloc(4 << 20);
    ((volatile char*)p)[-1] = 1;
  } else if (strcmp(name, "use_after_free_large") == 0) {
    char* p = malloc(4 << 20);
    free(p);
    ((volatile char*)Launder(p))[0] = 1;
  } else {
    printf("unknown case %s\n", name);
    return 2;
  }
  puts("NOT DETECTED");
  return 0;
}
