#!/usr/bin/env bash
# The static archives (libscalloc.a, libscalloc_hardened.a) linked into a C and a C++ program the way README.md
# says (--whole-archive): malloc and operator new are scalloc's, the mode is the archive's, programs behave, and
# the hardened archive reports a double free.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CC_BIN="${CC:-clang}"
CXX_BIN="${CXX:-clang++}"

# expect NAME EXPECTED_TEXT COMMAND...: passes when the command exits 0 and prints the text.
expect_output() {
  local name="$1" expected="$2"
  shift 2
  local out rc=0
  out="$(timeout --kill-after=10 "$IT_TIMEOUT" "$@" 2>&1)" || rc=$?
  if [[ "$rc" == 0 ]] && grep -qF -- "$expected" <<<"$out"; then
    it_pass "$name"
  else
    it_fail "$name" "exit $rc, expected '$expected' in: $(head -c 300 <<<"$out" | tr '\n' '|')"
  fi
}

for mode in fast hardened; do
  archive="$SCALLOC_OUT/libscalloc.a"
  [[ "$mode" == hardened ]] && archive="$SCALLOC_OUT/libscalloc_hardened.a"
  if [[ ! -f "$archive" ]]; then
    it_fail "archive/$mode" "missing $archive"
    continue
  fi
  c_program="$IT_WORK/static_c_$mode"
  cxx_program="$IT_WORK/static_cxx_$mode"
  # A C program needs the C++ runtime on the link line for the archive's operator new/delete (README.md).
  if ! "$CC_BIN" -O1 -I"$IT_REPO_ROOT" "$IT_DATA/static_link_check.c" -o "$c_program" \
      -Wl,--whole-archive "$archive" -Wl,--no-whole-archive -lstdc++ -lpthread 2>"$IT_WORK/link_c_$mode.err"; then
    it_fail "link_c/$mode" "$(head -c 500 "$IT_WORK/link_c_$mode.err" | tr '\n' '|')"
  else
    it_pass "link_c/$mode"
    expect_output "c_mode/$mode" "mode $mode" "$c_program"
    expect_output "c_malloc_is_scalloc/$mode" "usable size of a 17-byte request: 32" "$c_program"
    expect_output "c_threads/$mode" "threads ok" "$c_program"
  fi
  if ! "$CXX_BIN" -O1 -std=c++17 -I"$IT_REPO_ROOT" "$IT_DATA/static_link_check.cc" -o "$cxx_program" \
      -Wl,--whole-archive "$archive" -Wl,--no-whole-archive -lpthread 2>"$IT_WORK/link_cxx_$mode.err"; then
    it_fail "link_cxx/$mode" "$(head -c 500 "$IT_WORK/link_cxx_$mode.err" | tr '\n' '|')"
  else
    it_pass "link_cxx/$mode"
    expect_output "cxx_new_is_scalloc/$mode" "usable size of a 17-byte new: 32" "$cxx_program"
    expect_output "cxx_threads/$mode" "sums " "$cxx_program"
  fi
done

# The hardened archive stops a double free with its report; the fast one does not look.
hardened_c="$IT_WORK/static_c_hardened"
if [[ -x "$hardened_c" ]]; then
  out="$(timeout --kill-after=10 "$IT_TIMEOUT" "$hardened_c" double-free 2>&1)" && rc=0 || rc=$?
  if [[ "$rc" == 134 ]] && grep -qE "^scalloc: double free of 0x[0-9a-f]+" <<<"$out"; then
    it_pass "hardened_reports_double_free"
  else
    it_fail "hardened_reports_double_free" "exit $rc: $(head -c 300 <<<"$out" | tr '\n' '|')"
  fi
fi

it_finish
