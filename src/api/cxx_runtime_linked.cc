// CxxRuntime for builds that link the C++ runtime (libscalloc.a, tests): the standard library directly.
// Compiled with exceptions.
#include <new>

#include "src/api/cxx_runtime.h"

namespace scalloc::api {

NewHandler CurrentNewHandler() { return std::get_new_handler(); }

void ThrowBadAlloc(size_t /*size*/) { throw std::bad_alloc(); }

void* NothrowNewWithHandler(size_t size, size_t alignment) {
  try {
    return alignment == 0 ? ::operator new(size) : ::operator new(size, static_cast<std::align_val_t>(alignment));
  } catch (...) {
    return nullptr;
  }
}

}  // namespace scalloc::api
