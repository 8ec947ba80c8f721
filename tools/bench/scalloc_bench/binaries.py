# Where the workload binaries come from: the release build (//tools/bench:all), or, when that build is not
# usable, a standalone compile of the same sources with the release optimisation level.
import os
import shutil

from scalloc_bench.workloads import BENCH_DIR, HEADERS, SOURCES

REPO_ROOT = BENCH_DIR.parents[1]
FLAGS = ["-O3", "-std=c++20", "-pthread", "-fsized-deallocation", "-Wall", "-Wextra", "-Werror", "-g1"]


def missing(bin_dir, workloads):
    """Binaries the workloads need that bin_dir lacks."""
    return sorted({w.binary for w in workloads if not os.path.isfile(os.path.join(bin_dir, w.binary))})


def compile_standalone(bin_dir, run):
    """Compiles the workloads whose binary in bin_dir is missing or older than its sources.

    `run` executes one command (scalloc_tool.run).
    """
    compiler = shutil.which("clang++") or shutil.which("g++")
    if compiler is None:
        raise RuntimeError("neither clang++ nor g++ found")
    os.makedirs(bin_dir, exist_ok=True)
    header_time = max(os.path.getmtime(BENCH_DIR / h) for h in HEADERS)
    for source in SOURCES:
        source_path = BENCH_DIR / f"{source}.cc"
        binary = os.path.join(bin_dir, f"bench_{source}")
        newest_input = max(header_time, os.path.getmtime(source_path))
        if os.path.exists(binary) and os.path.getmtime(binary) >= newest_input:
            continue
        run([compiler] + FLAGS + ["-I", str(REPO_ROOT), str(source_path), "-o", binary])
