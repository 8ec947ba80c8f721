# The Debian packages the project needs: `tools/scalloc setup` installs whichever are missing.
# Append to PACKAGES (with a comment saying what needs it) rather than installing things elsewhere.

PACKAGES = [
    # Build: GN (the `gn` binary), ninja, the default compiler with libFuzzer/ASan runtimes, and gcc for
    # `tools/scalloc build --gcc`.
    "generate-ninja",
    "ninja-build",
    "clang",
    "libclang-rt-14-dev",
    "llvm-14",
    "g++",
    # Tests: googletest sources (compiled by third_party/googletest), the tool itself, coreutils pipelines.
    "googletest",
    "python3",
    "coreutils",
    # Integration tests: PHP loads its extensions with RTLD_DEEPBIND (tests/integration/dlopen_test.sh).
    "php-cli",
    # Benchmarks: instruction counts, plots, and the allocators scalloc is compared with.
    "valgrind",
    "gnuplot-nox",
    "libjemalloc2",
    "libtcmalloc-minimal4",
    "libmimalloc2.0",
    # `tools/scalloc lint`.
    "clang-format",
]
