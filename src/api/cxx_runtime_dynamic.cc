// CxxRuntime for the preload libraries: the C++ runtime already loaded in the process, found by name when first
// needed (only when an allocation in operator new has failed). A process that never loaded one (a C program)
// has no new_handler, so only a failing operator new without a runtime to throw is fatal, with a report.
// Compiled without exceptions: the exception thrown by the runtime passes through these frames (they hold
// nothing to clean up), and catching is left to the runtime's own nothrow operators (see below).
#include "src/api/cxx_runtime.h"
#include "src/core/report.h"
#include "src/os/os.h"

namespace scalloc::api {
namespace {

template <class Function>
Function Find(const char* mangled_name, bool after_this_library) {
  return reinterpret_cast<Function>(internal::SystemOs::FindSymbol(mangled_name, after_this_library));
}

}  // namespace

NewHandler CurrentNewHandler() {
  using GetNewHandler = NewHandler (*)();
  // std::get_new_handler(). Looked up on every call: this is the failure path only, and a function-local
  // static would need the runtime's guard functions.
  auto get = Find<GetNewHandler>("_ZSt15get_new_handlerv", false);
  return get != nullptr ? get() : nullptr;
}

void ThrowBadAlloc(size_t size) {
  using Thrower = void (*)();
  // std::__throw_bad_alloc(), libstdc++'s out-of-line `throw std::bad_alloc()`.
  if (auto thrower = Find<Thrower>("_ZSt17__throw_bad_allocv", false)) thrower();
  char storage[160];
  internal::TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: out of memory in operator new (").AppendDecimal(size);
  text.Append(" bytes) and no C++ runtime loaded to throw std::bad_alloc\n");
  internal::LogMessage(text.CString());
  internal::SystemOs::Abort();
}

// The C++ runtime's own nothrow forms (the next definitions after ours) are exactly "call the throwing form,
// return nullptr if it throws"; the throwing form they call is ours again, through the usual symbol
// interposition, so the handler protocol runs here and the runtime does the catching.
void* NothrowNewWithHandler(size_t size, size_t alignment) {
  if (alignment == 0) {
    using Nothrow = void* (*)(size_t, const void*);
    // operator new(size_t, const std::nothrow_t&)
    auto next = Find<Nothrow>("_ZnwmRKSt9nothrow_t", true);
    if (next != nullptr) return next(size, nullptr);
  } else {
    using NothrowAligned = void* (*)(size_t, size_t, const void*);
    // operator new(size_t, std::align_val_t, const std::nothrow_t&)
    auto next = Find<NothrowAligned>("_ZnwmSt11align_val_tRKSt9nothrow_t", true);
    if (next != nullptr) return next(size, alignment, nullptr);
  }
  return nullptr;  // a handler is installed, so a runtime is loaded; without its nothrow forms, fail softly
}

}  // namespace scalloc::api
