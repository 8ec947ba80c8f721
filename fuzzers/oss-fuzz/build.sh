#!/bin/bash -eu
# OSS-Fuzz build script: compiles the allocator core (src/base, src/os, src/core; never src/api, whose malloc
# override must not replace the sanitizer's) and every fuzzer of fuzzers/BUILD.gn into $OUT with the engine's flags,
# plus <name>_seed_corpus.zip and <name>.dict beside each binary.
#
# Inputs (set by OSS-Fuzz, or by test_local.sh): CXX, CXXFLAGS, LIB_FUZZING_ENGINE, OUT, SRC; optional WORK,
# SANITIZER, SCALLOC_SRC (the checkout; default $SRC/scalloc).

ROOT="${SCALLOC_SRC:-$SRC/scalloc}"
WORK="${WORK:-$(mktemp -d)}"
cd "$ROOT"

BUILD_DIR="$WORK/scalloc-build"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR/obj" "$BUILD_DIR/gen" "$OUT"

# The generated header the GN build would write (build/BUILD.gn, "buildflags").
USE_ASAN=false
if [[ "${SANITIZER:-}" == "address" || "$CXXFLAGS" == *"-fsanitize=address"* ]]; then
  USE_ASAN=true
fi
USE_UBSAN=false
if [[ "${SANITIZER:-}" == "undefined" || "$CXXFLAGS" == *"-fsanitize=undefined"* ]]; then
  USE_UBSAN=true
fi
python3 build/write_buildflag_header.py --output "$BUILD_DIR/gen/sc_buildflags.h" --rule "fuzzers/oss-fuzz/build.sh" \
  IS_DEBUG=false LOG_LEVEL=2 REUSE_THRESHOLD=80 USE_ASAN=$USE_ASAN USE_UBSAN=$USE_UBSAN USE_LIBFUZZER=true

COMMON_FLAGS=(-std=c++20 -pthread -I"$ROOT" -I"$BUILD_DIR/gen")

# The allocator: no exceptions or RTTI, as in src/BUILD.gn.
CORE_OBJECTS=()
while IFS= read -r source; do
  object="$BUILD_DIR/obj/$(echo "$source" | tr '/' '_').o"
  $CXX $CXXFLAGS "${COMMON_FLAGS[@]}" -fno-exceptions -fno-rtti -ftls-model=initial-exec -c "$source" -o "$object"
  CORE_OBJECTS+=("$object")
done < <(find src/base src/os src/core -name '*.cc' | sort)
ar rcs "$BUILD_DIR/libscalloc_core.a" "${CORE_OBJECTS[@]}"

# One binary per sc_fuzzer() in fuzzers/BUILD.gn; the source is fuzzers/<name>.cc.
FUZZERS=$(sed -n 's/^[[:space:]]*sc_fuzzer("\([A-Za-z0-9_]*\)").*/\1/p' fuzzers/BUILD.gn)
for name in $FUZZERS; do
  $CXX $CXXFLAGS "${COMMON_FLAGS[@]}" "fuzzers/$name.cc" "$BUILD_DIR/libscalloc_core.a" $LIB_FUZZING_ENGINE \
    -o "$OUT/$name"
  if [[ -d "fuzzers/corpus/$name" ]]; then
    rm -f "$OUT/${name}_seed_corpus.zip"
    python3 - "$OUT/${name}_seed_corpus.zip" "fuzzers/corpus/$name" <<'PY'
import pathlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sorted(pathlib.Path(sys.argv[2]).iterdir()):
        if path.is_file():
            archive.write(path, path.name)
PY
  fi
  if [[ -f "fuzzers/$name.dict" ]]; then
    cp "fuzzers/$name.dict" "$OUT/$name.dict"
  fi
  # Two heaps plus the sanitizer's quarantine need more than the default memory limit.
  printf '[libfuzzer]\nrss_limit_mb = 4096\ntimeout = 60\n' > "$OUT/$name.options"
done
echo "built: $FUZZERS"
