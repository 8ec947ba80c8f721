#!/usr/bin/env bash
# Misuse patterns of common hardened-allocator test suites (tests/integration/data/misuse.c) against the hardened
# preload library: each must end at once, with the named `scalloc:` report and SIGABRT, or with SIGSEGV on a
# guard page. This goes through the exported C API (free, realloc, malloc_usable_size, free_sized) of the
# library as programs load it; tests/core/hardening_death_test.cc covers the same reports on the core.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HARDENED="$SCALLOC_OUT/libscalloc_hardened.so"
PROGRAM="$IT_WORK/misuse"

# case name, expected exit status (134 SIGABRT, 139 SIGSEGV), expected stderr pattern (extended regex, or "").
CASES=(
  "double_free_small|134|^scalloc: double free of 0x[0-9a-f]+ \(size class 0, block of 16 bytes\)"
  "double_free_small_delayed|134|^scalloc: double free of 0x[0-9a-f]+"
  "double_free_large|134|^scalloc: double free of 0x[0-9a-f]+ \(large object"
  "double_free_other_thread|134|^scalloc: double free of 0x[0-9a-f]+"
  "realloc_after_free|134|^scalloc: double free of 0x[0-9a-f]+"
  "misaligned_free|134|^scalloc: invalid free of 0x[0-9a-f]+ \(misaligned pointer\)"
  "interior_free|134|^scalloc: invalid free of 0x[0-9a-f]+ \(interior pointer\)"
  "interior_free_large|134|^scalloc: invalid free of 0x[0-9a-f]+ \(interior pointer\)"
  "free_never_allocated|134|^scalloc: invalid free of 0x[0-9a-f]+ \(never-allocated block\)"
  "free_global|134|^scalloc: invalid free of 0x[0-9a-f]+ \(not allocated by scalloc\)"
  "free_stack|134|^scalloc: invalid free of 0x[0-9a-f]+ \(not allocated by scalloc\)"
  "free_wild|134|^scalloc: invalid free of 0xdeadbeef000"
  "realloc_wild|134|^scalloc: invalid free of 0xdeadbeef000"
  "usable_size_of_freed|134|^scalloc: invalid pointer 0x[0-9a-f]+ passed to malloc_usable_size"
  "usable_size_interior|134|^scalloc: invalid pointer 0x[0-9a-f]+ passed to malloc_usable_size"
  "sized_free_mismatch|134|^scalloc: size mismatch in sized free of 0x[0-9a-f]+ \(given 4000 bytes, block holds 64 bytes\)"
  "write_after_free_link|134|^scalloc: corrupted free list at 0x[0-9a-f]+"
  "overflow_past_span|139|"
  "overflow_large|139|"
  "overflow_256k_block|139|"
  "underflow_large|139|"
  "use_after_free_large|139|"
)

if [[ ! -f "$HARDENED" ]]; then
  it_fail misuse "missing $HARDENED"
  it_finish
  exit
fi
if ! "${CC:-clang}" -O1 "$IT_DATA/misuse.c" -o "$PROGRAM" -lpthread -ldl 2>"$IT_WORK/misuse_build.err"; then
  it_fail misuse_build "$(head -c 500 "$IT_WORK/misuse_build.err" | tr '\n' '|')"
  it_finish
  exit
fi

for entry in "${CASES[@]}"; do
  IFS='|' read -r name expected_rc pattern <<<"$entry"
  # In a command substitution whose stderr is dropped, so the shell's "Aborted" notices stay out of the output.
  rc="$({
    LD_PRELOAD="$HARDENED" timeout --kill-after=10 "$IT_TIMEOUT" "$PROGRAM" "$name" \
      >"$IT_WORK/$name.out" 2>"$IT_WORK/$name.err" </dev/null
    echo $?
  } 2>/dev/null)"
  if [[ "$rc" != "$expected_rc" ]]; then
    it_fail "misuse/$name" "exit status $rc, expected $expected_rc: $(head -c 300 "$IT_WORK/$name.out" "$IT_WORK/$name.err" | tr '\n' '|')"
  elif [[ -n "$pattern" ]] && ! grep -qE "$pattern" "$IT_WORK/$name.err"; then
    it_fail "misuse/$name" "no report matching '$pattern': $(head -c 300 "$IT_WORK/$name.err" | tr '\n' '|')"
  else
    it_pass "misuse/$name"
  fi
done

it_finish
