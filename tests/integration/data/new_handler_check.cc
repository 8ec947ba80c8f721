// operator new's failure protocol as a program sees it: std::bad_alloc for impossible sizes (plain, array,
// aligned), the new_handler called until it uninstalls itself, nothrow forms returning nullptr (also when the
// handler throws). Prints one line per check; the output must not depend on which malloc the process uses.
#include <cstdint>
#include <cstdio>
#include <new>

namespace {

int g_handler_calls = 0;

void CountingHandler() {
  if (++g_handler_calls >= 3) std::set_new_handler(nullptr);
}

void ThrowingHandler() {
  ++g_handler_calls;
  throw std::bad_alloc();
}

// Hides the size from the optimizer so that the allocation is really attempted.
size_t Huge() {
  static volatile size_t size = SIZE_MAX / 2;
  return size;
}

template <class Allocate>
const char* Outcome(Allocate allocate) {
  try {
    // Never allocates (the size is impossible), so there is nothing to free on "allocated".
    return allocate() == nullptr ? "nullptr" : "allocated";
  } catch (const std::bad_alloc&) {
    return "bad_alloc";
  }
}

}  // namespace

int main() {
  std::printf("new: %s\n", Outcome([] { return ::operator new(Huge()); }));
  std::printf("new[]: %s\n", Outcome([] { return ::operator new[](Huge()); }));
  std::printf("aligned new: %s\n", Outcome([] { return ::operator new (Huge(), std::align_val_t{64}); }));
  std::printf("nothrow new: %s\n", Outcome([] { return ::operator new(Huge(), std::nothrow); }));
  std::printf("nothrow aligned new: %s\n",
              Outcome([] { return ::operator new (Huge(), std::align_val_t{256}, std::nothrow); }));

  std::set_new_handler(CountingHandler);
  g_handler_calls = 0;
  std::printf("new with handler: %s after %d handler calls\n", Outcome([] { return ::operator new(Huge()); }),
              g_handler_calls);

  std::set_new_handler(ThrowingHandler);
  g_handler_calls = 0;
  std::printf("nothrow new, throwing handler: %s after %d handler calls\n",
              Outcome([] { return ::operator new(Huge(), std::nothrow); }), g_handler_calls);
  g_handler_calls = 0;
  std::printf("nothrow aligned new, throwing handler: %s after %d handler calls\n",
              Outcome([] { return ::operator new (Huge(), std::align_val_t{128}, std::nothrow); }), g_handler_calls);
  g_handler_calls = 0;
  std::printf("new, throwing handler: %s after %d handler calls\n", Outcome([] { return ::operator new(Huge()); }),
              g_handler_calls);
  std::set_new_handler(nullptr);

  int* ok = new int[1000]();
  std::printf("small new after failures: %s\n", ok[999] == 0 ? "ok" : "bad");
  delete[] ok;
  return 0;
}
