// The three things operator new needs from the C++ runtime: the current new_handler, throwing std::bad_alloc,
// and the nothrow forms' "catch the handler's exception" rule. Two implementations, chosen by the build:
// - cxx_runtime_linked.cc: the runtime linked in (libscalloc.a and the tests; the program links libstdc++);
// - cxx_runtime_dynamic.cc: the runtime found at run time in the process (the preload libraries), so that
//   loading scalloc into a C program does not load libstdc++, libm and libgcc_s as well.
#ifndef SCALLOC_SRC_API_CXX_RUNTIME_H_
#define SCALLOC_SRC_API_CXX_RUNTIME_H_

#include <cstddef>

namespace scalloc::api {

using NewHandler = void (*)();

// std::get_new_handler(); nullptr when none is installed (or no C++ runtime is loaded).
NewHandler CurrentNewHandler();

// throw std::bad_alloc(). `size` only names the request if no runtime can throw (a fatal report then).
[[noreturn]] void ThrowBadAlloc(size_t size);

// operator new(size[, alignment], std::nothrow) for the case where a new_handler is installed: runs the throwing
// form (handler loop included) and returns nullptr if it throws. alignment 0: the unaligned form.
void* NothrowNewWithHandler(size_t size, size_t alignment);

}  // namespace scalloc::api

#endif  // SCALLOC_SRC_API_CXX_RUNTIME_H_
