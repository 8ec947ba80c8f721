#!/bin/bash -eu
# Runs fuzzers/oss-fuzz/build.sh as OSS-Fuzz would (ASan + libFuzzer) with the local clang, then runs every fuzzer
# it built for a few hundred inputs from its seed corpus. Usage: test_local.sh [OUT_DIR] (default: a new /tmp dir).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="${1:-$(mktemp -d /tmp/scalloc-oss-fuzz.XXXXXX)}"
mkdir -p "$OUT_DIR"

export CC=clang CXX=clang++
export CFLAGS="-fsanitize=address,fuzzer-no-link" CXXFLAGS="-fsanitize=address,fuzzer-no-link"
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export SANITIZER=address OUT="$OUT_DIR" WORK="$OUT_DIR/work" SRC="$(dirname "$ROOT")" SCALLOC_SRC="$ROOT"
mkdir -p "$WORK"

bash "$ROOT/fuzzers/oss-fuzz/build.sh"

failed=0
passed=0
for binary in "$OUT_DIR"/*; do
  [[ -f "$binary" && -x "$binary" ]] || continue
  name="$(basename "$binary")"
  corpus="$WORK/corpus-$name"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  if [[ -f "$OUT_DIR/${name}_seed_corpus.zip" ]]; then
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$OUT_DIR/${name}_seed_corpus.zip" "$corpus"
  fi
  dict=()
  [[ -f "$OUT_DIR/$name.dict" ]] && dict=(-dict="$OUT_DIR/$name.dict")
  if "$binary" -runs=300 -rss_limit_mb=4096 -artifact_prefix="$WORK/$name-" "${dict[@]}" "$corpus" \
      > "$WORK/$name.log" 2>&1; then
    echo "PASS: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name (log: $WORK/$name.log)"
    tail -20 "$WORK/$name.log"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed (binaries in $OUT_DIR)"
[[ $failed -eq 0 && $passed -gt 0 ]]
