// Compiler abstraction macros used by every layer. No behaviour, only attributes and hints.
#ifndef SCALLOC_SRC_BASE_COMPILER_H_
#define SCALLOC_SRC_BASE_COMPILER_H_

#define SC_ALWAYS_INLINE inline __attribute__((always_inline))
#define SC_NOINLINE __attribute__((noinline))
#define SC_COLD __attribute__((cold))
#define SC_LIKELY(x) __builtin_expect(!!(x), 1)
#define SC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SC_CONSTINIT constinit
#define SC_EXPORT __attribute__((visibility("default")))
#define SC_CACHELINE_ALIGNED alignas(64)

// Declares a second name for the function `target` (same translation unit). gcc wants the alias to repeat the
// target's attributes (the C library's malloc, alloc_size, nonnull ...) and can copy them; clang has no `copy`.
#if defined(__clang__)
#define SC_ALIAS_OF(target) __attribute__((alias(#target)))
#else
#define SC_ALIAS_OF(target) __attribute__((alias(#target), copy(target)))
#endif

// Marks a `return f(...)` as a guaranteed tail call (a jump): the callee then sees the caller's caller as its
// return address. gcc before 15 has no such attribute; at -O2 it turns a call in tail position with the same
// signature into a jump on its own.
#if defined(__clang__)
#define SC_MUSTTAIL [[clang::musttail]]
#else
#define SC_MUSTTAIL
#endif

// Hides a value from the optimizer (used where the compiler's malloc attribute knowledge would fold a compare).
#define SC_OPAQUE(x) __asm__ volatile("" : "+r"(x))

#endif  // SCALLOC_SRC_BASE_COMPILER_H_
