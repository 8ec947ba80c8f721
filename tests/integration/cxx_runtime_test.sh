#!/usr/bin/env bash
# The preload libraries find the C++ runtime at run time instead of linking it: they must load nothing but the
# C library into a C program, and operator new's failure protocol (std::bad_alloc, new_handler, nothrow) must
# still behave as with the system allocator in a C++ program (tests/integration/data/new_handler_check.cc).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROGRAM="$SCALLOC_OUT/new_handler_check"

it_check_preload_active

# A C program (cat) under each library maps no C++ runtime.
for mode in "${IT_MODES[@]}"; do
  mode_name="${mode%%=*}" library="${mode#*=}"
  maps="$(LD_PRELOAD="$library" cat /proc/self/maps 2>/dev/null)"
  if grep -qE "libstdc\+\+|libgcc_s|libm\.so" <<<"$maps"; then
    it_fail "c_program_loads_only_libc/$mode_name" "$(grep -oE "[^ /]*(libstdc\+\+|libgcc_s|libm\.so)[^ ]*" <<<"$maps" | sort -u | tr '\n' ' ')"
  else
    it_pass "c_program_loads_only_libc/$mode_name"
  fi
done

if [[ ! -x "$PROGRAM" ]]; then
  it_fail new_handler_check "missing $PROGRAM (build //tests:all)"
else
  it_compare new_handler_check "$PROGRAM"
fi

it_finish
