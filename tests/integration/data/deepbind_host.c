// Opens deepbind_plugin by its bare name with RTLD_DEEPBIND (found through this program's RUNPATH) and passes
// blocks across: the plugin frees and grows the host's blocks, the host frees the plugin's. Prints whether the
// plugin's malloc is the process's and a checksum; a block crossing two allocators crashes or corrupts one.
// With --probe it only prints whether the plugin's malloc is the process's.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void* (*AllocFunction)(size_t);
typedef void* (*GrowFunction)(void*, size_t);
typedef void (*FreeFunction)(void*);
typedef void* (*AddressFunction)(void);

static void* Find(void* library, const char* name) {
  void* symbol = dlsym(library, name);
  if (symbol == NULL) {
    fprintf(stderr, "missing %s: %s\n", name, dlerror());
    exit(2);
  }
  return symbol;
}

int main(int argc, char** argv) {
  if (dlopen("libdeepbind_no_such_plugin.so", RTLD_NOW | RTLD_DEEPBIND) != NULL || dlerror() == NULL) {
    fprintf(stderr, "opening a missing library did not fail with a dlerror() message\n");
    return 2;
  }
  void* plugin = dlopen("libdeepbind_plugin.so", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (plugin == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  AllocFunction plugin_alloc = (AllocFunction)Find(plugin, "plugin_alloc");
  GrowFunction plugin_grow = (GrowFunction)Find(plugin, "plugin_grow");
  FreeFunction plugin_free = (FreeFunction)Find(plugin, "plugin_free");
  AddressFunction plugin_malloc_address = (AddressFunction)Find(plugin, "plugin_malloc_address");
  printf("plugin uses the process's malloc: %s\n",
         plugin_malloc_address() == dlsym(RTLD_DEFAULT, "malloc") ? "yes" : "no");
  if (argc > 1 && strcmp(argv[1], "--probe") == 0) return 0;

  uint64_t sum = 0;
  for (size_t i = 1; i <= 20000; ++i) {
    size_t size = (i * 7919) % 5000 + 1;
    char* mine = malloc(size);
    memset(mine, 'h', size);
    mine = plugin_grow(mine, size * 2);  // the plugin reallocates the host's block ...
    sum += (unsigned char)mine[size - 1];
    plugin_free(mine);  // ... and frees it
    char* theirs = plugin_alloc(size);
    sum += (unsigned char)theirs[size / 2];
    theirs = realloc(theirs, size + 100000 * (i % 50 == 0));  // the host grows the plugin's, sometimes large
    free(theirs);
  }
  printf("checksum %llu\n", (unsigned long long)sum);
  return dlclose(plugin) == 0 ? 0 : 1;
}
