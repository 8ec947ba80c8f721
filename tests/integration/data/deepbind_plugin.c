// A plugin that the host (deepbind_host.c) opens with RTLD_DEEPBIND: it allocates and frees for the host, so
// memory crosses the boundary in both directions, as with PHP's extensions.
#include <stdlib.h>
#include <string.h>

// The malloc this library's references bound to.
void* plugin_malloc_address(void) { return (void*)&malloc; }

void* plugin_alloc(size_t size) {
  char* block = malloc(size);
  if (block != NULL) memset(block, 'p', size);
  return block;
}

void* plugin_grow(void* block, size_t size) { return realloc(block, size); }

void plugin_free(void* block) { free(block); }
