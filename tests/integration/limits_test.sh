#!/usr/bin/env bash
# Address-space limits (ulimit -v of 4 GiB, 1 GiB, 256 MiB): the arena adapts (sparse: only real spans are
# mapped), programs run as with the system malloc, and exhausting memory gives a clean failure (Python's
# MemoryError), never a crash.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON=python3
[[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
export PYTHON

limited_python() {
  local kib=$1
  ulimit -v "$kib"
  "$PYTHON" - <<'PY'
import sys
# Ordinary work that fits.
d = {str(i): [i] * 8 for i in range(50000)}
s = sorted(d, key=lambda k: -int(k))[:5]
print(len(d), s)
# Exhaust the address space with big and with small objects: both must fail with MemoryError.
for size in (1 << 40, 1 << 33):
    try:
        bytearray(size)
        print("allocated", size)
    except MemoryError:
        print("MemoryError for", size)
chunks = []
try:
    while True:
        chunks.append(bytearray(1 << 20))
except MemoryError:
    pass
got = len(chunks) > 10
chunks.clear()
# Memory is usable again after the failure.
print("filled and recovered:", got, len([bytes(100) for _ in range(10000)]))
PY
}
export -f limited_python

# Many small objects under a limit: each span costs its real size, not its 2 MiB virtual span, so the heap
# reaches what the system malloc reaches (64-byte blocks used to run out at 69 MiB under 4 GB).
limited_small_objects() {
  local kib=$1
  ulimit -v "$kib"
  PYTHONMALLOC=malloc "$PYTHON" - <<'PY'
try:
    objects = [(i, str(i)) for i in range(2000000)]
    print("small objects:", len(objects), sum(len(s) for _, s in objects[::997]))
except MemoryError:
    print("MemoryError")
PY
}
export -f limited_small_objects

it_check_preload_active
for kib in 4194304 1048576 262144; do
  it_compare "python_ulimit_${kib}k" limited_python "$kib"
done
it_compare "small_objects_ulimit_1048576k" limited_small_objects 1048576

# The malloc API suites (linked with scalloc) in a process started under a limit: every API behaviour holds
# with a sparse arena too.
for suite in malloc_api_tests malloc_api_hardened_tests; do
  if [[ ! -x "$SCALLOC_OUT/$suite" ]]; then
    it_skip "${suite}_ulimit_4000000k" "no $SCALLOC_OUT/$suite (sanitizer builds have none)"
  elif (ulimit -v 4000000 && timeout "$IT_TIMEOUT" "$SCALLOC_OUT/$suite" >"$IT_WORK/$suite.out" 2>&1); then
    it_pass "${suite}_ulimit_4000000k"
  else
    it_fail "${suite}_ulimit_4000000k" "see below"
    tail -n 30 "$IT_WORK/$suite.out" >&2
  fi
done
it_finish
