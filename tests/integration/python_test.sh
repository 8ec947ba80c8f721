#!/usr/bin/env bash
# Python under the scalloc preload libraries: a dict/list/str-heavy script must print exactly what it prints
# with the system malloc, with Python's small-object allocator on and off (PYTHONMALLOC=malloc sends every
# object through malloc/realloc/free).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON=/usr/bin/python3
export PYTHONHASHSEED=0
export PYTHONDONTWRITEBYTECODE=1

python_stdlib_mix() {
  "$PYTHON" - <<'PY'
import collections, decimal, fractions, itertools, json, re, statistics, textwrap, zlib
decimal.getcontext().prec = 200
D = decimal.Decimal
pi_ish = sum(D(1) / D(16) ** k * (D(4) / (8 * k + 1) - D(2) / (8 * k + 4) - D(1) / (8 * k + 5) - D(1) / (8 * k + 6))
             for k in range(170))
print(str(pi_ish)[:120])
h = sum(fractions.Fraction(1, n) for n in range(1, 400))
print(h.numerator % 1000000007, h.denominator % 1000000007)
blob = json.dumps([{"i": i, "s": "v" * (i % 50), "l": list(range(i % 20))} for i in range(20000)]).encode()
packed = zlib.compress(blob, 9)
print(len(blob), zlib.crc32(zlib.decompress(packed)))
perms = collections.Counter("".join(p) for p in itertools.permutations("abcdefgh", 5))
print(len(perms), statistics.mean(len(w) for w in re.findall(r"[a-z]+", textwrap.fill(" ".join(perms), 60))))
PY
}
export -f python_stdlib_mix
export PYTHON

if [[ ! -x "$PYTHON" ]]; then
  it_skip python "no $PYTHON"
else
  it_check_preload_active
  it_compare python_workload "$PYTHON" "$IT_DATA/containers_workload.py"
  it_compare python_workload_pymalloc_off env PYTHONMALLOC=malloc "$PYTHON" "$IT_DATA/containers_workload.py"
  it_compare python_stdlib_mix python_stdlib_mix
fi

it_finish
