# Shared helpers for tests/integration/*_test.sh (sourced, not run): locate the preload libraries, run a
# command with the system malloc and with each scalloc library, compare, and print PASS/FAIL/SKIP lines.
# SCALLOC_OUT (absolute path of the build dir, normally out/release) is given by the test runner.

set -u

IT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IT_DATA="$IT_DIR/data"
IT_REPO_ROOT="$(cd "$IT_DIR/../.." && pwd)"
SCALLOC_OUT="${SCALLOC_OUT:-$IT_REPO_ROOT/out/release}"
# Per-run limit, so a deadlock under a preload library fails the case instead of hanging the runner.
IT_TIMEOUT="${SCALLOC_IT_TIMEOUT:-120}"

# The allocators compared with the system malloc: "name=library path".
IT_MODES=(
  "fast=$SCALLOC_OUT/libscalloc.so"
  "hardened=$SCALLOC_OUT/libscalloc_hardened.so"
)

IT_WORK="$(mktemp -d "${TMPDIR:-/tmp}/scalloc_it.XXXXXX")"
# SCALLOC_IT_KEEP=1 keeps every run's stdout/stderr for inspection.
if [[ "${SCALLOC_IT_KEEP:-0}" == 1 ]]; then
  echo "outputs kept in $IT_WORK" >&2
else
  trap 'rm -rf "$IT_WORK"' EXIT
fi
# Visible to the exported shell functions the scripts compare.
export IT_DIR IT_DATA IT_REPO_ROOT SCALLOC_OUT IT_WORK

# Deterministic, locale-independent behaviour of the programs under test.
export LC_ALL=C
export TZ=UTC

it_passed=0
it_failed=0
it_skipped=0

it_pass() {
  echo "PASS: $1"
  it_passed=$((it_passed + 1))
}

it_fail() {
  echo "FAIL: $1${2:+ ($2)}"
  it_failed=$((it_failed + 1))
}

it_skip() {
  echo "SKIP: $1${2:+ ($2)}"
  it_skipped=$((it_skipped + 1))
}

# True when a program is installed.
it_have() {
  command -v "$1" >/dev/null 2>&1
}

# Runs "$@" under the time limit with the given LD_PRELOAD value ("" = system malloc). Shell functions of
# the calling script work too (after `export -f`): they run in a child bash started with the same preload.
# Writes <prefix>.out, <prefix>.err and <prefix>.rc.
it_run_with() {
  local preload="$1" prefix="$2"
  shift 2
  local rc=0
  if [[ -n "$preload" ]]; then
    LD_PRELOAD="$preload" timeout --kill-after=10 "$IT_TIMEOUT" bash -c '"$@"' it_run "$@" \
      >"$prefix.out" 2>"$prefix.err" </dev/null || rc=$?
  else
    env -u LD_PRELOAD timeout --kill-after=10 "$IT_TIMEOUT" bash -c '"$@"' it_run "$@" \
      >"$prefix.out" 2>"$prefix.err" </dev/null || rc=$?
  fi
  echo "$rc" >"$prefix.rc"
}

# Shows why a comparison failed, on stderr so the PASS/FAIL lines on stdout stay clean.
it_explain() {
  local reference="$1" candidate="$2"
  {
    echo "---- exit status: system malloc $(cat "$reference.rc"), preloaded $(cat "$candidate.rc")"
    echo "---- stdout diff (system malloc vs preloaded), first 20 lines:"
    diff "$reference.out" "$candidate.out" | head -n 20
    echo "---- stderr of the preloaded run, last 20 lines:"
    tail -n 20 "$candidate.err"
  } >&2
}

# it_compare NAME COMMAND [ARGS...]
# Runs the command once with the system malloc and once per scalloc library; a mode passes when its exit
# status and stdout equal the system-malloc run. Prints one line per mode: NAME/fast, NAME/hardened.
# The reference run itself must succeed (exit 0), else every mode fails: the case would prove nothing.
it_compare() {
  local name="$1"
  shift
  local safe_name="${name//[^A-Za-z0-9_.-]/_}"
  local reference="$IT_WORK/$safe_name.system"
  it_run_with "" "$reference" "$@"
  local reference_rc
  reference_rc="$(cat "$reference.rc")"
  local mode
  for mode in "${IT_MODES[@]}"; do
    local mode_name="${mode%%=*}" library="${mode#*=}"
    local case_name="$name/$mode_name"
    if [[ "$reference_rc" != 0 ]]; then
      it_fail "$case_name" "reference run with the system malloc exited $reference_rc"
      tail -n 20 "$reference.err" >&2
      continue
    fi
    if [[ ! -f "$library" ]]; then
      it_fail "$case_name" "missing $library"
      continue
    fi
    local candidate="$IT_WORK/$safe_name.$mode_name"
    it_run_with "$library" "$candidate" "$@"
    local candidate_rc
    candidate_rc="$(cat "$candidate.rc")"
    if grep -q "cannot be preloaded" "$candidate.err"; then
      it_fail "$case_name" "the dynamic loader refused $library"
      it_explain "$reference" "$candidate"
    elif [[ "$candidate_rc" == 124 || "$candidate_rc" == 137 ]]; then
      it_fail "$case_name" "timed out after ${IT_TIMEOUT}s"
      it_explain "$reference" "$candidate"
    elif [[ "$candidate_rc" != "$reference_rc" ]]; then
      it_fail "$case_name" "exit status $candidate_rc, system malloc $reference_rc"
      it_explain "$reference" "$candidate"
    elif ! cmp -s "$reference.out" "$candidate.out"; then
      it_fail "$case_name" "output differs from the system malloc run"
      it_explain "$reference" "$candidate"
    else
      it_pass "$case_name"
    fi
  done
}

# Checks that each library really gets loaded (the loader only warns when it cannot preload one, and a
# silently ignored LD_PRELOAD would make every comparison pass).
it_check_preload_active() {
  local mode
  for mode in "${IT_MODES[@]}"; do
    local mode_name="${mode%%=*}" library="${mode#*=}"
    local case_name="preload_active/$mode_name"
    if [[ ! -f "$library" ]]; then
      it_fail "$case_name" "missing $library"
      continue
    fi
    local maps
    maps="$(LD_PRELOAD="$library" cat /proc/self/maps 2>/dev/null)"
    if grep -qF "$library" <<<"$maps" || grep -qF "$(readlink -f "$library")" <<<"$maps"; then
      it_pass "$case_name"
    else
      it_fail "$case_name" "$library is not mapped into a preloaded process"
    fi
  done
}

# Prints the summary and returns the script's exit status: 1 if any case failed.
it_finish() {
  echo "summary: $it_passed passed, $it_failed failed, $it_skipped skipped"
  [[ "$it_failed" == 0 ]]
}
