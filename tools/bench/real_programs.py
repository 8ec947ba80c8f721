#!/usr/bin/env python3
# Real programs under each allocator: the integration tests' workloads (CPython with its own small-object
# allocator off, perl, tclsh, sqlite3, a g++ compile, PHP, ghostscript rendering pages) run with LD_PRELOAD, interleaved, several times each.
# Prints the median wall time and peak RSS per program and allocator, with ratios against the system malloc.
"""Usage: tools/bench/real_programs.py [--runs N] [--allocators a,b,...] [--release-dir DIR]

Needs out/release (libscalloc.so, libscalloc_hardened.so); programs that are not installed are skipped.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "tests", "integration", "data")
sys.path.insert(0, os.path.dirname(__file__))

from scalloc_bench import allocators as allocators_lib  # noqa: E402
from scalloc_bench import runner  # noqa: E402


def programs(scratch):
    """(name, argv, extra environment) of each workload whose interpreter or compiler is installed."""
    table = [
        ("python (PYTHONMALLOC=malloc)", ["python3", os.path.join(DATA, "containers_workload.py")],
         {"PYTHONMALLOC": "malloc"}),
        ("python (pymalloc)", ["python3", os.path.join(DATA, "containers_workload.py")], {}),
        ("perl hashes", ["perl", os.path.join(DATA, "hash_workload.pl")], {}),
        ("tclsh dicts", ["tclsh", os.path.join(DATA, "dict_workload.tcl")], {}),
        ("sqlite3 :memory:", ["sh", "-c", f"sqlite3 :memory: < {os.path.join(DATA, 'queries.sql')}"], {}),
        ("g++ -O2 compile", ["g++", "-std=c++17", "-O2", "-c", os.path.join(DATA, "templates.cc"), "-o",
                             os.path.join(scratch, "templates.o")], {}),
        # Without php.ini (-n): no extensions, so the peers, whose preloaded malloc PHP's extensions (opened with
        # RTLD_DEEPBIND) would crash, run it too.
        ("php arrays (-n)", ["php", "-n", os.path.join(DATA, "php_workload.php")], {}),
        ("gs render 6 pages", ["gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=ppmraw", "-r150", "-o",
                               os.devnull, os.path.join(DATA, "drawing_workload.ps")], {}),
    ]
    return [entry for entry in table if shutil.which(entry[1][0])]


# GNU time reaps the program itself and reports its peak RSS. wait4 on a child of this Python process would count
# the parent's pages the child held before exec (runner.measure explains it), a floor of tens of MiB.
TIME = shutil.which("time", path="/usr/bin:/bin")
TIMEOUT_S = 600


def run_once(argv, env):
    """Wall seconds and peak RSS (MiB) of one run, or None if it failed."""
    if TIME:
        argv = [TIME, "-a", "-o", "/dev/stdout", "-f", "peak_rss_kib=%M"] + argv
    run = runner.measure(argv, env, TIMEOUT_S)
    if run.status != 0 or run.timed_out:
        return None
    return run.wall_s, run.rss_kib / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--allocators", default=",".join(allocators_lib.ORDER))
    parser.add_argument("--release-dir", default=os.path.join(REPO, "out", "release"))
    args = parser.parse_args()
    chosen, notes = allocators_lib.resolve([a for a in args.allocators.split(",") if a], args.release_dir)
    for note in notes:
        print(note)
    if not TIME:
        print("note: /usr/bin/time not found; peak RSS includes the launcher's pages (a floor of tens of MiB)")
    with tempfile.TemporaryDirectory(prefix="scalloc-real-") as scratch:
        table = programs(scratch)
        results = {}
        for run in range(args.runs):
            for name, argv, extra in table:
                order = chosen if run % 2 == 0 else list(reversed(chosen))
                for allocator in order:
                    env = allocators_lib.child_env(allocator)
                    env.update(extra)
                    outcome = run_once(argv, env)
                    results.setdefault((name, allocator.name), []).append(outcome)
                    print(f"\r[{run + 1}/{args.runs}] {name:30s} {allocator.name:18s}", end="", flush=True)
        print()
    reference = chosen[0].name
    print(f"Median of {args.runs} runs: wall time in s (ratio vs {reference}), peak RSS in MiB (ratio).")
    header = f"{'program':30s}" + "".join(f" | {a.name:>26s}" for a in chosen)
    print(header)
    print("-" * len(header))
    for name, _, _ in table:
        base = [r for r in results[(name, reference)] if r is not None]
        base_time = statistics.median(r[0] for r in base) if base else None
        base_rss = statistics.median(r[1] for r in base) if base else None
        cells = []
        for allocator in chosen:
            runs = results[(name, allocator.name)]
            ok = [r for r in runs if r is not None]
            if len(ok) != len(runs):
                cells.append(f"{len(runs) - len(ok)} run(s) failed".rjust(26))
                continue
            t = statistics.median(r[0] for r in ok)
            m = statistics.median(r[1] for r in ok)
            ratio_t = f"({t / base_time:.2f}x)" if base_time else ""
            ratio_m = f"({m / base_rss:.2f}x)" if base_rss else ""
            cells.append(f"{t:6.2f} {ratio_t:>7s} {m:6.0f} {ratio_m:>7s}")
        print(f"{name:30s}" + "".join(f" | {c}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
